// Command codegen generates the upstream clients and the x-upstream glue of one or more apps
// (see package internal/tooling/codegen):
//
//	codegen [-gateway] API_DIR:GEN_DIR[:IMPORT_PATH] ...
//
// Run it from the module root (`make generate` does). IMPORT_PATH defaults to the module path
// joined with GEN_DIR. It exits 1 and prints every error when a contract is wrong.
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/contractgate/contractgate/internal/tooling/codegen"
)

func main() {
	gateway := flag.Bool("gateway", false, "also generate GEN_DIR/gateway from API_DIR/openapi.yaml (fixture apps)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: codegen [-gateway] API_DIR:GEN_DIR[:IMPORT_PATH] ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	failed := false
	for _, arg := range flag.Args() {
		t, err := target(arg, *gateway)
		if err == nil {
			err = codegen.Run(t)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "codegen %s:\n%v\n", arg, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func target(arg string, gateway bool) (codegen.Target, error) {
	parts := strings.SplitN(arg, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return codegen.Target{}, fmt.Errorf("want API_DIR:GEN_DIR[:IMPORT_PATH], got %q", arg)
	}
	t := codegen.Target{API: parts[0], Gen: parts[1], Gateway: gateway}
	if len(parts) == 3 {
		t.ImportPath = parts[2]
	} else {
		rel := filepath.ToSlash(filepath.Clean(parts[1]))
		if filepath.IsAbs(parts[1]) || strings.HasPrefix(rel, "../") {
			return codegen.Target{}, fmt.Errorf("%s: give the import path of a GEN_DIR outside the module root", arg)
		}
		t.ImportPath = path.Join(codegen.ModulePath, rel)
	}
	return t, nil
}
