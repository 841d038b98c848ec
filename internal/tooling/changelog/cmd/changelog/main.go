// Command changelog writes the contract's changelog (internal/tooling/changelog).
//
//	changelog [-base RELEASED] [-date YYYY-MM-DD] [-o CHANGELOG.md] FILE
//
// FILE and RELEASED are self-contained contracts (speclint bundle). Without -base, FILE is the
// first release. Without -o, the section is printed; with it, the section becomes the newest
// entry of that file (created if missing; a section of the same version is replaced).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/contractgate/contractgate/internal/tooling/changelog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "changelog:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("changelog", flag.ContinueOnError)
	base := fset.String("base", "", "the previous release's contract (none: FILE is the first release)")
	date := fset.String("date", "", "the release date, shown in the section heading")
	out := fset.String("o", "", "the changelog file to add the section to (default: print the section)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return errors.New("usage: changelog [-base RELEASED] [-date YYYY-MM-DD] [-o CHANGELOG.md] FILE")
	}
	file := fset.Arg(0)
	revision, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var s *changelog.Section
	if *base == "" {
		s, err = changelog.First(revision, *date)
	} else {
		var b []byte
		if b, err = os.ReadFile(*base); err != nil {
			return err
		}
		s, err = changelog.Compare(*base, b, file, revision, *date)
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = io.WriteString(stdout, s.Markdown())
		return err
	}
	info, err := changelog.ReadInfo(revision)
	if err != nil {
		return err
	}
	existing, err := os.ReadFile(*out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(*out, changelog.Insert(existing, info.Title, s), 0o644)
}
