package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	const (
		lintdata     = "../../internal/tooling/speclint/testdata/"
		breakingdata = "../../internal/tooling/breaking/testdata/"
	)
	tests := []struct {
		desc       string
		args       []string
		wantErr    error
		wantStdout string
		wantStderr string
	}{
		{"lint passes", []string{lintdata + "valid.yaml"}, nil, "follows the contract rules", ""},
		{"lint subcommand", []string{"lint", lintdata + "valid.yaml"}, nil, "follows the contract rules", ""},
		{"lint fails", []string{lintdata + "missing-summary.yaml"}, errFailed, "",
			"missing-summary.yaml: operation-summary: GET /v1/books (listBooks): has no summary\nspeclint: 1 problem(s)"},
		{"breaking passes", []string{"breaking", "--base", breakingdata + "base.yaml", breakingdata + "additive.yaml"}, nil,
			"keeps every client of", ""},
		{"breaking fails", []string{"breaking", "--base", breakingdata + "base.yaml", breakingdata + "narrowed-enum.yaml"}, errFailed, "",
			"removed the enum value `blue`"},
		{"breaking allowed by a major bump", []string{"breaking", "--base", breakingdata + "base.yaml", breakingdata + "major-bump.yaml"}, nil,
			"2 breaking change(s), allowed by the major version bump 1.4.2 -> 2.0.0", ""},
		{"version going backwards", []string{"breaking", "--base", breakingdata + "major-bump.yaml", breakingdata + "base.yaml"}, errFailed, "",
			"info.version 1.4.2 is lower than the released 2.0.0"},
		{"version", []string{"version", breakingdata + "base.yaml"}, nil, "1.4.2\n", ""},
		{"version of a contract with shared components", []string{"version", lintdata + "valid.yaml"}, nil, "\n", ""},
		{"bundle", []string{"bundle", lintdata + "valid.yaml"}, nil, "    ErrorEnvelope:\n", ""},
		{"-o without bundle", []string{"-o", "x", lintdata + "valid.yaml"}, errUsage, "", ""},
		{"no file", nil, errUsage, "", ""},
		{"breaking without --base", []string{"breaking", breakingdata + "base.yaml"}, errUsage, "", ""},
		{"--base without breaking", []string{"--base", "x", breakingdata + "base.yaml"}, errUsage, "", ""},
		{"two files", []string{"a.yaml", "b.yaml"}, errUsage, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
