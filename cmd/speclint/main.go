// Command speclint is the contract's quality gate, run by scripts/lint-spec.sh (make check)
// and scripts/release.sh (make release):
//
//	speclint [lint] FILE                     the project's own rules (internal/tooling/speclint)
//	speclint breaking --base RELEASED FILE   breaking changes against the released contract
//	                                         (internal/tooling/breaking); allowed after a major bump
//	speclint version FILE                    print info.version
//
// It exits 0 when the contract passes, 1 when it does not (each problem on its own line on
// stderr), and 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/tooling/breaking"
	"github.com/contractgate/contractgate/internal/tooling/speclint"
)

const usage = `usage:
  speclint [lint] FILE                     check FILE against the project's contract rules
  speclint breaking --base RELEASED FILE   fail on changes that break clients of RELEASED,
                                           unless FILE's info.version bumps the major number
  speclint version FILE                    print FILE's info.version`

// errUsage is a command-line mistake (exit status 2).
var errUsage = errors.New(usage)

// errFailed is a contract that fails the gate (exit status 1); the problems are printed.
var errFailed = errors.New("the contract fails the gate")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errFailed):
		os.Exit(1)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "speclint:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "lint"
	if len(args) > 0 && (args[0] == "lint" || args[0] == "breaking" || args[0] == "version") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("speclint "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	base := fs.String("base", "", "the last released contract (breaking only)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || (cmd == "breaking") != (*base != "") {
		return errUsage
	}
	file := fs.Arg(0)

	switch cmd {
	case "version":
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			return err
		}
		if doc.Info == nil || doc.Info.Version == "" {
			return fmt.Errorf("%s has no info.version", file)
		}
		_, _ = fmt.Fprintln(stdout, doc.Info.Version)
		return nil

	case "breaking":
		report, err := breaking.CompareFiles(*base, file)
		if err != nil {
			return err
		}
		if report.RevisionVersion.Less(report.BaseVersion) {
			_, _ = fmt.Fprintf(stderr, "speclint breaking: %s: info.version %s is lower than the released %s (%s)\n",
				file, report.RevisionVersion, report.BaseVersion, *base)
			return errFailed
		}
		if err := report.Err(); err != nil {
			_, _ = fmt.Fprintln(stderr, "speclint breaking:", err)
			return errFailed
		}
		if len(report.Changes) == 0 {
			_, _ = fmt.Fprintf(stdout, "speclint breaking: %s (%s) keeps every client of %s (%s) working\n",
				file, report.RevisionVersion, *base, report.BaseVersion)
			return nil
		}
		_, _ = fmt.Fprintf(stdout, "speclint breaking: %d breaking change(s), allowed by the major version bump %s -> %s:\n",
			len(report.Changes), report.BaseVersion, report.RevisionVersion)
		for _, c := range report.Changes {
			_, _ = fmt.Fprintln(stdout, "  -", c)
		}
		return nil

	default:
		findings, err := speclint.LintFile(file)
		if err != nil {
			return err
		}
		for _, f := range findings {
			_, _ = fmt.Fprintln(stderr, file+": "+f.String())
		}
		if len(findings) > 0 {
			_, _ = fmt.Fprintf(stderr, "speclint: %d problem(s) in %s\n", len(findings), file)
			return errFailed
		}
		_, _ = fmt.Fprintf(stdout, "speclint: %s follows the contract rules\n", file)
		return nil
	}
}
