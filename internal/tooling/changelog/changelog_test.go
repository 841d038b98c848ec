package changelog_test

import (
	"os"
	"strings"
	"testing"

	"github.com/contractgate/contractgate/internal/tooling/changelog"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCompare: v1 -> v2 removes a required response field (breaking; of two responses) and
// adds an operation. The section lists the breaking change first, under its own heading, in
// plain words, one line for both responses.
func TestCompare(t *testing.T) {
	s, err := changelog.Compare("v1.yaml", read(t, "v1.yaml"), "v2.yaml", read(t, "v2.yaml"), "2026-12-06")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "2.0.0" || s.Previous != "1.0.0" {
		t.Errorf("versions: got %s since %s, want 2.0.0 since 1.0.0", s.Version, s.Previous)
	}
	md := s.Markdown()
	t.Logf("\n%s", md)
	want := []string{
		"## 2.0.0 (2026-12-06)\n\nChanges since 1.0.0.\n",
		"### Breaking changes (update your client before upgrading)\n\n" +
			"- `GET /v1/widgets/{widgetId} (getWidget)`: removed the required property `name` from the response with the `200`, `203` statuses (response-required-property-removed)\n",
		"### Other changes (nothing to do)\n\n" +
			"- `GET /v1/widgets (listWidgets)`: endpoint added (endpoint-added)\n",
	}
	at := -1
	for _, w := range want {
		i := strings.Index(md, w)
		if i < 0 {
			t.Fatalf("the section lacks %q", w)
		}
		if i < at {
			t.Errorf("%q comes before what precedes it in the wanted order", w)
		}
		at = i
	}
	if strings.Contains(md, "may break") {
		t.Errorf("no change of this diff may break clients, but the section has that group")
	}
}

func TestMarkdownWithoutChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    changelog.Section
		want string
	}{
		{"first release", changelog.Section{Version: "0.1.0", Date: "2026-01-02"}, "## 0.1.0 (2026-01-02)\n\nFirst release of the contract.\n"},
		{"no change", changelog.Section{Version: "1.0.1", Previous: "1.0.0"}, "## 1.0.1\n\nNo change to the API since 1.0.0.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Markdown(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestInsert: sections are newest first under the title; releasing a version again
// replaces its section instead of listing it twice.
func TestInsert(t *testing.T) {
	first, err := changelog.First(read(t, "v1.yaml"), "2026-01-01")
	if err != nil {
		t.Fatal(err)
	}
	file := changelog.Insert(nil, "Changelog fixture", first)
	second, err := changelog.Compare("v1.yaml", read(t, "v1.yaml"), "v2.yaml", read(t, "v2.yaml"), "2026-02-01")
	if err != nil {
		t.Fatal(err)
	}
	file = changelog.Insert(file, "Changelog fixture", second)
	file = changelog.Insert(file, "Changelog fixture", second)
	text := string(file)
	if !strings.HasPrefix(text, "# Changelog of Changelog fixture\n") {
		t.Errorf("the file does not start with its title:\n%s", text)
	}
	if n := strings.Count(text, "\n## 2.0.0 "); n != 1 {
		t.Errorf("2.0.0 has %d sections, want 1:\n%s", n, text)
	}
	i2, i1 := strings.Index(text, "## 2.0.0"), strings.Index(text, "## 1.0.0 (2026-01-01)\n\nFirst release of the contract.")
	if i2 < 0 || i1 < 0 || i2 > i1 {
		t.Errorf("want 2.0.0's section, then 1.0.0's:\n%s", text)
	}
	if !strings.HasSuffix(text, "First release of the contract.\n") {
		t.Errorf("the file should end with the oldest section and one newline:\n%q", text)
	}
}

func TestReadInfo(t *testing.T) {
	if _, err := changelog.ReadInfo([]byte("openapi: 3.1.0\ninfo: {title: x}\n")); err == nil {
		t.Error("a contract without info.version: want an error")
	}
	info, err := changelog.ReadInfo(read(t, "v2.yaml"))
	if err != nil || info.Title != "Changelog fixture" || info.Version != "2.0.0" {
		t.Errorf("got %+v, %v", info, err)
	}
}
