package idempotency

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

// fingerprint returns the hex SHA-256 of what makes two requests with the same key "the same
// request": the method, the route template, the concrete path (two orders cancelled with one
// key differ), the canonical query (parameters sorted by name) and the body bytes. Headers
// are not part of it.
//
// The body is read and put back for the handler: a body that can seek (the validator's
// validated body) is hashed in place and rewound, so the very same object, with its
// ValidatedValue, reaches the handler; any other body is buffered and replaced by a reader
// of the same bytes that keeps ValidatedValue when the original had one.
func fingerprint(req *http.Request, route string) (string, error) {
	fh := hashers.Get().(*fieldHasher)
	defer hashers.Put(fh)
	fh.h.Reset()
	fh.buf = appendField(fh.buf[:0], req.Method)
	fh.buf = appendField(fh.buf, route)
	fh.buf = appendField(fh.buf, req.URL.EscapedPath())
	fh.buf = appendField(fh.buf, canonicalQuery(req.URL.RawQuery))
	fh.h.Write(fh.buf)
	// The body is the last field, so it needs no length prefix.
	if err := hashBody(fh.h, req); err != nil {
		return "", err
	}
	return hex.EncodeToString(fh.h.Sum(fh.sum[:0])), nil
}

// fieldHasher is a SHA-256 state with scratch space, pooled: fingerprinting runs on every
// keyed request.
type fieldHasher struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

var hashers = sync.Pool{New: func() any { return &fieldHasher{h: sha256.New(), buf: make([]byte, 0, 256)} }}

// appendField appends s length-prefixed, so that no two field lists hash alike.
func appendField(buf []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint64(buf, uint64(len(s))), s...)
}

// canonicalQuery sorts the query by parameter name (values keep their order) and encodes it
// as url.Values.Encode does, so that ?b=2&a=1 and ?a=1&b=%32 are the same request. A query
// that does not parse is kept as sent.
func canonicalQuery(raw string) string {
	if raw == "" || isCanonicalQuery(raw) {
		return raw
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	return q.Encode()
}

// isCanonicalQuery reports, without allocating, whether raw is already what
// url.Values.Encode would make of it: key=value pairs of unreserved characters, keys in
// order.
func isCanonicalQuery(raw string) bool {
	prev := ""
	for pair := range strings.SplitSeq(raw, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || k < prev || !unreserved(k) || !unreserved(v) {
			return false
		}
		prev = k
	}
	return true
}

func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

// validatedValuer is the validator's body (see internal/engine/validation): the decoded value the
// generated handler binds instead of decoding the bytes again.
type validatedValuer interface{ ValidatedValue() any }

func hashBody(h io.Writer, req *http.Request) error {
	body := req.Body
	if body == nil || body == http.NoBody {
		return nil
	}
	if s, ok := body.(io.ReadSeeker); ok {
		if _, err := io.Copy(h, s); err != nil {
			return bodyError(err)
		}
		if _, err := s.Seek(0, io.SeekStart); err == nil {
			return nil
		}
		// A body that cannot rewind after all: hashed already, but gone for the handler.
		return apierror.ErrInternal.Wrap(errors.New("idempotency: request body could not be rewound"))
	}
	size := req.ContentLength
	if size < 0 || size > 1<<20 {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(body); err != nil {
		return bodyError(err)
	}
	raw := buf.Bytes()
	_, _ = h.Write(raw) // hash.Hash.Write never fails
	r := &replayedBody{Reader: bytes.NewReader(raw)}
	if v, ok := body.(validatedValuer); ok {
		req.Body = &replayedValidatedBody{replayedBody: r, value: v.ValidatedValue()}
	} else {
		req.Body = r
	}
	return nil
}

func bodyError(err error) error {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok && he.Code == http.StatusRequestEntityTooLarge {
		return apierror.ErrPayloadTooLarge.Wrap(err)
	}
	return apierror.ErrMalformedJSON.WithMessage("Request body could not be read completely").Wrap(err)
}

// replayedBody hands the handler the bytes that were hashed.
type replayedBody struct{ *bytes.Reader }

func (*replayedBody) Close() error { return nil }

// replayedValidatedBody is a replayedBody that keeps the original body's validated value.
type replayedValidatedBody struct {
	*replayedBody
	value any
}

// ValidatedValue returns the value the validator decoded and validated.
func (b *replayedValidatedBody) ValidatedValue() any { return b.value }

// recordKey is the store key of (caller, operation, key): the operation id in clear (for
// operators), then the hex SHA-256 of the length-prefixed caller and key, so that no
// caller's subject or key can collide with another's. Anonymous callers share one scope,
// distinct from any subject, including one named "anonymous".
func recordKey(subject string, authenticated bool, operationID, key string) string {
	var b []byte
	if authenticated {
		b = appendField(appendField(b, "subject"), subject)
	} else {
		b = appendField(b, "anonymous")
	}
	sum := sha256.Sum256(appendField(b, key))
	return operationID + ":" + hex.EncodeToString(sum[:])
}

// callerScope names the caller whose quota a record counts against: the same caller fields
// recordKey hashes (an authenticated subject, or the one anonymous scope), hashed, so that a
// long subject costs the store no more than a short one.
// anonymousScope is the one scope every unauthenticated caller shares.
var anonymousScope = callerScope("", false)

func callerScope(subject string, authenticated bool) string {
	var b []byte
	if authenticated {
		b = appendField(appendField(b, "subject"), subject)
	} else {
		b = appendField(b, "anonymous")
	}
	sum := sha256.Sum256(b)
	return string(sum[:16])
}

// newToken returns a random claim token of tokenLength hex characters.
func newToken() string {
	var b [tokenLength / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}
