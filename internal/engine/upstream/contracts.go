package upstream

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// ContractsDir is where an app's upstream contracts live in its contracts file system: every
// ContractsDir/<name>.yaml is one upstream (the registry).
const ContractsDir = "upstreams"

// validName is an upstream name: it names a Go package (gen/<name>), a config section and a
// metric label.
var validName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Contracts loads and validates every upstream contract of fsys (upstreams/<name>.yaml), by
// name.
func Contracts(fsys fs.FS) (map[string]*openapi3.T, error) {
	files, err := fs.Glob(fsys, ContractsDir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*openapi3.T, len(files))
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".yaml")
		if !validName.MatchString(name) {
			return nil, fmt.Errorf("%s: an upstream's name must be lower-case letters and digits, starting with a letter", f)
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", f, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", f, err)
		}
		out[name] = doc
	}
	return out, nil
}
