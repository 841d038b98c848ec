// Package breaking is the breaking-change gate: it compares the contract with the last
// released one (oasdiff's checks) and refuses changes that break existing clients unless
// info.version's major number was bumped.
//
// A change counts as breaking when oasdiff rates it an error (it breaks clients) or a
// warning (it may break them: a request field removed while request bodies reject unknown
// fields, ...). On top of oasdiff's defaults, anything removed counts, deprecated first or
// not (operations, parameters, request and response fields), and so does a changed
// operationId (it names the SDK methods, metrics and per-operation policies). Additive
// changes (a new optional field, a new operation) are informational and pass.
package breaking

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"

	"github.com/contractgate/contractgate/internal/engine/contract"
)

// ErrBreaking is matched (errors.Is) by the error Report.Err returns when the contract
// breaks clients of the released one without a major version bump.
var ErrBreaking = errors.New("breaking changes without a major version bump")

// Change is one change that breaks (or may break) clients of the base contract.
type Change struct {
	// ID is oasdiff's rule id, e.g. "response-property-removed".
	ID string
	// Breaking is true for a change that breaks clients, false for one that may
	// (oasdiff's error and warning levels).
	Breaking bool
	// Informational is true for a change that breaks no client (an addition, a new
	// optional field, ...; oasdiff's info level). Only Diff reports such changes.
	Informational bool
	// Operation is "METHOD /path" of the affected operation, empty for a change to
	// components or security schemes.
	Operation string
	// OperationID is the affected operation's operationId, when it has one.
	OperationID string
	// Text says what changed, in plain words.
	Text string
}

// String is the change on one line: where, what, and the rule id.
func (c Change) String() string {
	where := c.Operation
	if where == "" {
		where = "components"
	} else if c.OperationID != "" {
		where += " (" + c.OperationID + ")"
	}
	kind := "breaking"
	if !c.Breaking {
		kind = "may break clients"
	}
	return fmt.Sprintf("%s: %s [%s, %s]", where, c.Text, kind, c.ID)
}

// Report is the outcome of one comparison.
type Report struct {
	// Base and Revision name the compared documents (file names, for messages).
	Base, Revision string
	// BaseVersion and RevisionVersion are the documents' info.version.
	BaseVersion, RevisionVersion Version
	// Changes lists every breaking (or possibly breaking) change, in oasdiff's order
	// (by path, then operation).
	Changes []Change
}

// MajorBumped reports whether the revision's major version is greater than the base's.
func (r *Report) MajorBumped() bool { return r.RevisionVersion.Major > r.BaseVersion.Major }

// Err returns nil when nothing breaks or the major version was bumped, and otherwise an
// *Error (matching ErrBreaking) that lists every change.
func (r *Report) Err() error {
	if len(r.Changes) == 0 || r.MajorBumped() {
		return nil
	}
	return &Error{Report: r}
}

// Error is the gate's refusal: the contract breaks clients of the released one and its
// major version was not bumped.
type Error struct {
	Report *Report
}

// Error lists each change on its own line and says how to proceed.
func (e *Error) Error() string {
	r := e.Report
	var b strings.Builder
	fmt.Fprintf(&b, "%s (version %s) breaks clients of the released contract %s (version %s): %d change(s):\n",
		r.Revision, r.RevisionVersion, r.Base, r.BaseVersion, len(r.Changes))
	for _, c := range r.Changes {
		b.WriteString("  - ")
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "restore compatibility, or bump info.version to %d.0.0 if the break is intended", r.BaseVersion.Major+1)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrBreaking) hold.
func (e *Error) Unwrap() error { return ErrBreaking }

// CompareFiles loads and compares two contract files; see Compare. Each is bundled first
// (contract.BundleFile: its $refs to other files, such as the shared components.yaml,
// resolved against its directory and moved into it), so that what is compared is what
// clients get.
func CompareFiles(basePath, revisionPath string) (*Report, error) {
	base, err := contract.BundleFile(basePath)
	if err != nil {
		return nil, err
	}
	revision, err := contract.BundleFile(revisionPath)
	if err != nil {
		return nil, err
	}
	return Compare(basePath, base, revisionPath, revision)
}

// Compare lists the changes from base to revision (self-contained documents) that break
// (or may break) clients of base. The names label the documents in messages. It fails only when a document cannot
// be loaded or info.version is not MAJOR.MINOR.PATCH; call Report.Err for the verdict.
func Compare(baseName string, base []byte, revisionName string, revision []byte) (*Report, error) {
	s1, s2, err := loadPair(baseName, base, revisionName, revision)
	if err != nil {
		return nil, err
	}
	r := &Report{Base: baseName, Revision: revisionName}
	if r.BaseVersion, err = ParseVersion(s1.Version); err != nil {
		return nil, fmt.Errorf("%s: info.version: %w", baseName, err)
	}
	if r.RevisionVersion, err = ParseVersion(s2.Version); err != nil {
		return nil, fmt.Errorf("%s: info.version: %w", revisionName, err)
	}

	// WARN and above: oasdiff's own line between "breaking" and "informational".
	// The versioning-policy findings are INFO, so this gate alone judges the version.
	if r.Changes, err = changes(s1, s2, checker.WARN); err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", baseName, revisionName, err)
	}
	return r, nil
}

// Diff lists every change from base to revision (self-contained documents) that oasdiff
// finds, informational ones (additions) included, each rated as the gate rates it, in
// oasdiff's order. The names label the documents in messages. It is the material of a
// changelog; Compare is the gate.
func Diff(baseName string, base []byte, revisionName string, revision []byte) ([]Change, error) {
	s1, s2, err := loadPair(baseName, base, revisionName, revision)
	if err != nil {
		return nil, err
	}
	cs, err := changes(s1, s2, checker.INFO)
	if err != nil {
		return nil, fmt.Errorf("comparing %s with %s: %w", baseName, revisionName, err)
	}
	return cs, nil
}

// loadPair loads the base and the revision.
func loadPair(baseName string, base []byte, revisionName string, revision []byte) (s1, s2 *load.SpecInfo, err error) {
	if s1, err = loadSpec(baseName, base); err != nil {
		return nil, nil, err
	}
	if s2, err = loadSpec(revisionName, revision); err != nil {
		return nil, nil, err
	}
	return s1, s2, nil
}

// changes runs oasdiff's checks (with the gate's raised levels) from s1 to s2 and returns
// the changes at level or above.
func changes(s1, s2 *load.SpecInfo, level checker.Level) ([]Change, error) {
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return nil, err
	}
	config := checker.NewConfig(checker.GetAllChecks(), checker.WithSeverityLevels(raised))
	found := checker.CheckBackwardCompatibilityUntilLevel(config, d, sources, level)
	l := checker.NewLocalizer("en")
	out := make([]Change, 0, len(found))
	for _, c := range found {
		ch := Change{
			ID:            c.GetId(),
			Breaking:      c.GetLevel() == checker.ERR,
			Informational: c.GetLevel() < checker.WARN,
			OperationID:   c.GetOperationId(),
			Text:          c.GetUncolorizedText(l),
		}
		if c.GetOperation() != "" && c.GetPath() != "" {
			ch.Operation = c.GetOperation() + " " + c.GetPath()
		}
		out = append(out, ch)
	}
	return out, nil
}

// raised are the oasdiff rules this gate rates higher than oasdiff does (INFO by default):
// under semantic versioning a removal is a major change even after a deprecation, an
// optional response field may be what a client reads, and an operationId is an SDK
// method name and the key of metrics and per-operation policies.
var raised = map[string]checker.Level{
	checker.APIPathRemovedWithDeprecationId:                  checker.WARN,
	checker.APIRemovedWithDeprecationId:                      checker.WARN,
	checker.RequestParameterRemovedWithDeprecationId:         checker.WARN,
	checker.RequestPropertyRemovedWithDeprecationId:          checker.WARN,
	checker.ResponseRequiredPropertyRemovedWithDeprecationId: checker.WARN,
	checker.ResponseOptionalPropertyRemovedId:                checker.WARN,
	checker.APIOperationIdRemovedId:                          checker.WARN,
}

// loadSpec parses one document the way the oasdiff CLI does, with allOf and path-level
// parameters flattened so that a change inside an allOf branch or a shared parameter is
// seen where it takes effect. Each document gets its own loader (its cache is per name).
func loadSpec(name string, data []byte) (*load.SpecInfo, error) {
	loader := openapi3.NewLoader()
	s, err := load.NewSpecInfoFromData(loader, data, name, load.WithFlattenAllOf(), load.WithFlattenParams())
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	return s, nil
}

// Version is a semantic version's numbers (pre-release and build metadata are ignored).
type Version struct {
	Major, Minor, Patch int
}

// String is MAJOR.MINOR.PATCH.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v precedes w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

var semver = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$`)

// ParseVersion parses MAJOR.MINOR.PATCH (an optional leading "v", pre-release and build
// suffixes allowed).
func ParseVersion(s string) (Version, error) {
	m := semver.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a semantic version (MAJOR.MINOR.PATCH)", s)
	}
	var v Version
	var errs [3]error
	v.Major, errs[0] = strconv.Atoi(m[1])
	v.Minor, errs[1] = strconv.Atoi(m[2])
	v.Patch, errs[2] = strconv.Atoi(m[3])
	if err := errors.Join(errs[:]...); err != nil {
		return Version{}, fmt.Errorf("%q: %w", s, err)
	}
	return v, nil
}
