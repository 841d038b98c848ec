// Command sdkpack builds the SDK packages under dist/sdk (internal/tooling/sdkpack); `make sdk`
// runs it from the repository's root.
//
//	sdkpack [-out dist/sdk] [-go-module PATH] [-go-package NAME] [-npm-name NAME]
//
// SDK_GO_MODULE, SDK_GO_PACKAGE and SDK_NPM_NAME set the same as the flags.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/contractgate/contractgate/internal/tooling/sdkpack"
)

func main() {
	var cfg sdkpack.Config
	flag.StringVar(&cfg.Out, "out", "", "output directory (default dist/sdk)")
	flag.StringVar(&cfg.GoModule, "go-module", os.Getenv("SDK_GO_MODULE"), "the Go SDK's module path (default <gateway module>/sdk/go/<name>[/vN])")
	flag.StringVar(&cfg.GoPackage, "go-package", os.Getenv("SDK_GO_PACKAGE"), "the Go SDK's package name (default from the contract's title)")
	flag.StringVar(&cfg.NPMName, "npm-name", os.Getenv("SDK_NPM_NAME"), "the npm package's name (default @contractgate/<name>-sdk)")
	flag.Parse()
	if err := cfg.SetDefaults(); err != nil {
		fail(err)
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	r, err := sdkpack.Build(cfg, os.Stdout)
	if err != nil {
		fail(err)
	}
	for _, f := range []string{r.GoZip, r.NPMTarball} {
		if st, err := os.Stat(f); err == nil {
			fmt.Printf("sdk: %s: %d bytes\n", f, st.Size())
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
