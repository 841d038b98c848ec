package breaking_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/tooling/breaking"
)

// TestCompare compares testdata/base.yaml (version 1.4.2) with one changed fixture each.
func TestCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		// want lists every reported change (Change.String); wantErr says whether the gate
		// refuses them (no major bump).
		want    []string
		wantErr bool
	}{
		{
			fixture: "removed-field",
			want: []string{
				"GET /v1/widgets (listWidgets): removed the required property `data/items/name` from the response with the `200` status [breaking, response-required-property-removed]",
				"POST /v1/widgets (createWidget): removed the required property `name` from the response with the `201` status [breaking, response-required-property-removed]",
				"GET /v1/widgets/{widgetId} (getWidget): removed the required property `name` from the response with the `200` status [breaking, response-required-property-removed]",
			},
			wantErr: true,
		},
		{
			fixture: "removed-optional-field",
			want: []string{
				"GET /v1/widgets (listWidgets): removed the optional property `data/items/weightGrams` from the response with the `200` status [may break clients, response-optional-property-removed]",
				"POST /v1/widgets (createWidget): removed the optional property `weightGrams` from the response with the `201` status [may break clients, response-optional-property-removed]",
				"GET /v1/widgets/{widgetId} (getWidget): removed the optional property `weightGrams` from the response with the `200` status [may break clients, response-optional-property-removed]",
			},
			wantErr: true,
		},
		{
			fixture: "removed-operation",
			want: []string{
				"GET /v1/widgets/{widgetId} (getWidget): API path removed without deprecation [breaking, api-path-removed-without-deprecation]",
			},
			wantErr: true,
		},
		{
			fixture: "new-required-parameter",
			want: []string{
				"GET /v1/widgets (listWidgets): added the new required `query` request parameter `warehouse` [breaking, new-required-request-parameter]",
			},
			wantErr: true,
		},
		{
			fixture: "narrowed-enum",
			want: []string{
				"GET /v1/widgets (listWidgets): removed the enum value `blue` from the `query` request parameter `color` [breaking, request-parameter-enum-value-removed]",
				"POST /v1/widgets (createWidget): removed the enum value `blue` of the request property `color` [breaking, request-property-enum-value-removed]",
			},
			wantErr: true,
		},
		{
			// A new optional response field and a new operation break no client.
			fixture: "additive",
		},
		{
			// The narrowed enum again, now with info.version 2.0.0: reported, but allowed.
			fixture: "major-bump",
			want: []string{
				"GET /v1/widgets (listWidgets): removed the enum value `blue` from the `query` request parameter `color` [breaking, request-parameter-enum-value-removed]",
				"POST /v1/widgets (createWidget): removed the enum value `blue` of the request property `color` [breaking, request-property-enum-value-removed]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			report, err := breaking.CompareFiles(filepath.Join("testdata", "base.yaml"), filepath.Join("testdata", tt.fixture+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range report.Changes {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n  got  %q\n  want %q", got, tt.want)
			}
			err = report.Err()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Err() = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, breaking.ErrBreaking) {
				t.Errorf("errors.Is(%v, ErrBreaking) = false", err)
			}
			// The message names both versions, lists each change and says what to do.
			msg := err.Error()
			for _, part := range append([]string{"(version 1.5.0)", "(version 1.4.2)", "bump info.version to 2.0.0"}, tt.want...) {
				if !strings.Contains(msg, part) {
					t.Errorf("message lacks %q:\n%s", part, msg)
				}
			}
		})
	}
}

// TestContractAgainstItself: oasdiff loads the gateway's contract and finds no change in
// it, so the gate in make check starts from a clean comparison.
func TestContractAgainstItself(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "..", "api", "openapi.yaml")
	report, err := breaking.CompareFiles(path, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Changes) != 0 || report.Err() != nil {
		t.Errorf("changes = %v, err = %v, want none", report.Changes, report.Err())
	}
}

// TestReleasedSnapshot: api/released/openapi.yaml is a contract oasdiff can load, with a
// semantic info.version.
func TestReleasedSnapshot(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "..", "api", "released", "openapi.yaml")
	if _, err := breaking.CompareFiles(path, path); err != nil {
		t.Fatal(err)
	}
}

func TestCompareErrors(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile(filepath.Join("testdata", "base.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	undated := []byte(strings.Replace(string(base), "version: 1.4.2", "version: latest", 1))
	if _, err := breaking.Compare("base", base, "revision", undated); err == nil || !strings.Contains(err.Error(), `revision: info.version: "latest" is not a semantic version`) {
		t.Errorf("Compare with info.version latest: err = %v", err)
	}
	if _, err := breaking.Compare("base", base, "revision", []byte("openapi: [")); err == nil || !strings.Contains(err.Error(), "loading revision") {
		t.Errorf("Compare with a broken document: err = %v", err)
	}
	if _, err := breaking.CompareFiles(filepath.Join("testdata", "missing.yaml"), filepath.Join("testdata", "base.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CompareFiles with a missing base: err = %v, want os.ErrNotExist", err)
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want breaking.Version
		ok   bool
	}{
		{"1.0.0", breaking.Version{Major: 1}, true},
		{"v2.3.4", breaking.Version{Major: 2, Minor: 3, Patch: 4}, true},
		{"3.0.0-rc.1+build.7", breaking.Version{Major: 3}, true},
		{"1.0", breaking.Version{}, false},
		{"01.0.0", breaking.Version{}, false},
		{"2026-11-26", breaking.Version{}, false},
	}
	for _, tt := range tests {
		got, err := breaking.ParseVersion(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if !(breaking.Version{Major: 1, Minor: 9}).Less(breaking.Version{Major: 2}) || (breaking.Version{Major: 2}).Less(breaking.Version{Major: 1, Minor: 9}) {
		t.Error("Less does not order by major first")
	}
}
