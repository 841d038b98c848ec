// Package changelog writes the contract's changelog for client teams: what changed from the
// last released contract to this one, in plain words (oasdiff's own sentences, through the
// breaking-change gate's rating, internal/tooling/breaking), breaking changes first, then
// changes that may break clients, then the rest (additions). `make release` adds a section
// per release to api/released/CHANGELOG.md; `make sdk` ships the file in both SDK packages.
package changelog

import (
	"bytes"
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/contractgate/contractgate/internal/tooling/breaking"
)

// Section is one release of the contract: its version and what changed since the previous one.
type Section struct {
	// Version is the release's info.version.
	Version string
	// Previous is the previous release's info.version, empty for the first release.
	Previous string
	// Date is the release date (YYYY-MM-DD), or a note such as "unreleased"; may be empty.
	Date string
	// Changes are the changes since Previous, breaking ones first, then the ones that may
	// break clients, then the informational ones; oasdiff's order within each group.
	Changes []breaking.Change
}

// Info is what a contract says about itself: info.title and info.version.
type Info struct {
	Title   string
	Version string
}

// ReadInfo returns a contract's info.title and info.version.
func ReadInfo(contract []byte) (Info, error) {
	var doc struct {
		Info Info `yaml:"info"`
	}
	if err := yaml.Unmarshal(contract, &doc); err != nil {
		return Info{}, fmt.Errorf("reading info: %w", err)
	}
	if doc.Info.Version == "" {
		return Info{}, fmt.Errorf("the contract has no info.version")
	}
	return doc.Info, nil
}

// First is the section of a contract's first release (nothing to compare it with).
func First(contract []byte, date string) (*Section, error) {
	info, err := ReadInfo(contract)
	if err != nil {
		return nil, err
	}
	return &Section{Version: info.Version, Date: date}, nil
}

// Compare is the section of revision's release, listing its changes since base (both
// self-contained contracts: bundled, no $refs to other files). The names label the
// documents in error messages.
func Compare(baseName string, base []byte, revisionName string, revision []byte, date string) (*Section, error) {
	bi, err := ReadInfo(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", baseName, err)
	}
	ri, err := ReadInfo(revision)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", revisionName, err)
	}
	changes, err := breaking.Diff(baseName, base, revisionName, revision)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(changes, func(a, b breaking.Change) int { return cmp.Compare(rank(a), rank(b)) })
	return &Section{Version: ri.Version, Previous: bi.Version, Date: date, Changes: changes}, nil
}

// rank orders the groups: breaking, may break, informational.
func rank(c breaking.Change) int {
	switch {
	case c.Breaking:
		return 0
	case !c.Informational:
		return 1
	default:
		return 2
	}
}

// groups are the section's headings, in rank order.
var groups = [...]string{
	"Breaking changes (update your client before upgrading)",
	"Changes that may break clients",
	"Other changes (nothing to do)",
}

// Markdown is the section as Markdown: a "## VERSION" heading, then each group of changes
// as a list, one change a line: where (METHOD /path and operationId), what, and oasdiff's
// rule id. The same change of an operation for several response statuses is one line.
func (s *Section) Markdown() string {
	var b strings.Builder
	b.WriteString("## " + s.Version)
	if s.Date != "" {
		b.WriteString(" (" + s.Date + ")")
	}
	b.WriteString("\n\n")
	switch {
	case s.Previous == "":
		b.WriteString("First release of the contract.\n")
		return b.String()
	case len(s.Changes) == 0:
		fmt.Fprintf(&b, "No change to the API since %s.\n", s.Previous)
		return b.String()
	}
	fmt.Fprintf(&b, "Changes since %s.\n", s.Previous)
	last := -1
	for _, l := range merge(s.Changes) {
		if l.rank != last {
			fmt.Fprintf(&b, "\n### %s\n\n", groups[l.rank])
			last = l.rank
		}
		fmt.Fprintf(&b, "- `%s`: %s (%s)\n", l.where, l.text, l.id)
	}
	return b.String()
}

// line is one line of a section: a change, or the same change of an operation for several
// response statuses.
type line struct {
	rank            int
	where, text, id string
	template        string // text with the status as \x00
	statuses        []string
}

// status is a response status in oasdiff's sentences ("for the response status `200`").
var status = regexp.MustCompile("`[1-5][0-9][0-9]`")

// merge turns changes into lines, one per change except that the same change of the same
// operation for several response statuses (oasdiff reports each) is one line naming them all.
func merge(changes []breaking.Change) []line {
	var lines []line
	at := map[string]int{} // key -> index in lines
	for _, c := range changes {
		where := c.Operation
		if where == "" {
			where = "components"
		} else if c.OperationID != "" {
			where += " (" + c.OperationID + ")"
		}
		l := line{rank: rank(c), where: where, text: c.Text, id: c.ID}
		found := status.FindAllString(c.Text, -1)
		if len(found) != 1 {
			lines = append(lines, l)
			continue
		}
		l.template = status.ReplaceAllString(c.Text, "\x00")
		key := fmt.Sprint(l.rank, "\x00", where, "\x00", c.ID, "\x00", l.template)
		if i, ok := at[key]; ok {
			m := &lines[i]
			m.statuses = append(m.statuses, found[0])
			plural := strings.NewReplacer("status \x00", "statuses \x00", "\x00 status", "\x00 statuses").Replace(m.template)
			m.text = strings.Replace(plural, "\x00", strings.Join(m.statuses, ", "), 1)
			continue
		}
		l.statuses = found
		at[key] = len(lines)
		lines = append(lines, l)
	}
	return lines
}

// Insert returns the changelog file text with section (Markdown) as its newest entry: right
// after the file's title, replacing an existing section of the same version (so that a
// repeated release does not list itself twice). An empty file gets the title "# Changelog
// of TITLE".
func Insert(file []byte, title string, s *Section) []byte {
	text := strings.TrimSpace(string(file))
	if text == "" {
		text = "# Changelog of " + title + "\n\n" +
			"Each release of the contract (info.version), newest first, with what changed since the previous one."
	}
	// Split into the preamble (before the first "## ") and the sections.
	parts := strings.Split("\n"+text, "\n## ")
	preamble := strings.TrimSpace(parts[0])
	var b bytes.Buffer
	b.WriteString(preamble + "\n\n")
	b.WriteString(s.Markdown())
	for _, p := range parts[1:] {
		version, _, _ := strings.Cut(p, "\n")
		version, _, _ = strings.Cut(version, " ")
		if version == s.Version {
			continue
		}
		b.WriteString("\n## " + strings.TrimRight(p, "\n") + "\n")
	}
	return b.Bytes()
}
