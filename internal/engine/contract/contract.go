// Package contract loads OpenAPI contracts that $ref other files (the shared
// components.yaml, an upstream's contract) and bundles them into one self-contained
// document: the one the engine enforces, serves at /openapi.json and /openapi.yaml, and
// generates the SDKs from. Clients never see a $ref to a file they cannot fetch.
//
// Bundling moves every externally referenced component into the root document's
// components under its own name (./components.yaml#/components/schemas/Meta becomes
// #/components/schemas/Meta), so the bundled document reads as if written in one file.
// Two different components that would take the same name are an error, never a silent
// merge.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// Read parses the contract name in fsys and every document it $refs (resolved against
// fsys, relative to the referring file), keeping the references as written: a $ref to
// ./components.yaml stays one. Linters that check what a contract references use it;
// everything else wants Load.
func Read(fsys fs.FS, name string) (*openapi3.T, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" {
			return nil, fmt.Errorf("%s: only references to files beside the contract are followed", u)
		}
		return fs.ReadFile(fsys, strings.TrimPrefix(path.Clean(u.Path), "/"))
	}
	doc, err := loader.LoadFromDataWithPath(data, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	return doc, nil
}

// ReadFile is Read for a file on disk: its references are resolved against the file's
// directory and may leave it (../components.yaml), as test fixtures do.
func ReadFile(file string) (*openapi3.T, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true
	doc, err := loader.LoadFromFile(abs)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", file, err)
	}
	return doc, nil
}

// Load reads the contract name in fsys (see Read), bundles it into one self-contained
// document (see Internalize) and validates it. The result is what the engine routes,
// validates and serves: every $ref in it is local ("#/components/...").
func Load(fsys fs.FS, name string) (*openapi3.T, error) {
	doc, err := Read(fsys, name)
	if err != nil {
		return nil, err
	}
	return finish(doc, name)
}

// LoadFile is Load for a file on disk (see ReadFile).
func LoadFile(file string) (*openapi3.T, error) {
	doc, err := ReadFile(file)
	if err != nil {
		return nil, err
	}
	return finish(doc, file)
}

func finish(doc *openapi3.T, name string) (*openapi3.T, error) {
	if err := Internalize(doc); err != nil {
		return nil, fmt.Errorf("bundling %s: %w", name, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", name, err)
	}
	return doc, nil
}

// Internalize moves every component doc references in another file into doc's own
// components, under the component's own name, and points the references at them. It is a
// no-op on a self-contained document. It fails, changing nothing it can avoid, when an
// external component's name is already taken by one of doc's own or by another file's.
func Internalize(doc *openapi3.T) error {
	own := ownNames(doc)
	taken := map[string]string{} // collection/name -> the reference that took it
	var errs []error
	resolve := func(d *openapi3.T, ref openapi3.ComponentRef) string {
		if name, ok := openapi3.ReferencesComponentInRootDocument(d, ref); ok {
			return path.Base(name)
		}
		target := ref.RefPath()
		name := path.Base(target.Fragment)
		key := ref.CollectionName() + "/" + name
		where := target.Path + "#" + target.Fragment
		switch prev, seen := taken[key]; {
		case own[key]:
			errs = append(errs, fmt.Errorf("%s: the contract has its own components.%s.%s; rename one of them",
				ref.RefString(), ref.CollectionName(), name))
		case seen && prev != where:
			errs = append(errs, fmt.Errorf("%s and %s would both become components.%s.%s; rename one of them",
				prev, where, ref.CollectionName(), name))
		default:
			taken[key] = where
		}
		return name
	}
	doc.InternalizeRefs(context.Background(), resolve)
	return errors.Join(dedupe(errs)...)
}

// ownNames lists doc's own components as "collection/name".
func ownNames(doc *openapi3.T) map[string]bool {
	out := map[string]bool{}
	c := doc.Components
	if c == nil {
		return out
	}
	add := func(collection string, names []string) {
		for _, n := range names {
			out[collection+"/"+n] = true
		}
	}
	add("schemas", keys(c.Schemas))
	add("parameters", keys(c.Parameters))
	add("headers", keys(c.Headers))
	add("requestBodies", keys(c.RequestBodies))
	add("responses", keys(c.Responses))
	add("securitySchemes", keys(c.SecuritySchemes))
	add("examples", keys(c.Examples))
	add("links", keys(c.Links))
	add("callbacks", keys(c.Callbacks))
	return out
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// Bundle returns doc as one self-contained document (see Internalize), encoded as JSON
// (compact, keys sorted) and as YAML (the top-level fields in the specification's order,
// the rest sorted). The same document gives the same bytes.
func Bundle(doc *openapi3.T) (jsonDoc, yamlDoc []byte, err error) {
	if err := Internalize(doc); err != nil {
		return nil, nil, err
	}
	jsonDoc, err = doc.MarshalJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the contract as JSON: %w", err)
	}
	yamlDoc, err = toYAML(jsonDoc)
	if err != nil {
		return nil, nil, err
	}
	return jsonDoc, yamlDoc, nil
}

// topLevel is the order of an OpenAPI document's fields in the specification; extensions
// and unknown fields follow, sorted.
var topLevel = []string{"openapi", "info", "jsonSchemaDialect", "servers", "tags", "security",
	"paths", "webhooks", "components", "externalDocs"}

func toYAML(jsonDoc []byte) ([]byte, error) {
	var fields map[string]any
	if err := json.Unmarshal(jsonDoc, &fields); err != nil {
		return nil, fmt.Errorf("decoding the contract: %w", err)
	}
	names := keys(fields)
	rank := func(k string) int {
		if i := slices.Index(topLevel, k); i >= 0 {
			return i
		}
		return len(topLevel)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range names {
		var v yaml.Node
		if err := v.Encode(fields[k]); err != nil {
			return nil, fmt.Errorf("encoding %s as YAML: %w", k, err)
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &v)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding the contract as YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// BundleFile loads the contract file (see LoadFile) and returns it bundled as YAML: what
// the tooling (SDK generators, the breaking-change gate, make release) works from.
func BundleFile(file string) ([]byte, error) {
	doc, err := LoadFile(file)
	if err != nil {
		return nil, err
	}
	_, y, err := Bundle(doc)
	return y, err
}
