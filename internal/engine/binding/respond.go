package binding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
	"github.com/contractgate/contractgate/internal/engine/upstream"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// MaxAnswerBytes caps the upstream answer a binding reads, in bytes (16 MiB); a longer answer
// is an UPSTREAM_CONTRACT_VIOLATION. The upstream's own maxResponseBytes (default 4 MiB) is
// normally the tighter bound.
const MaxAnswerBytes = 16 << 20

// drainBytes is how much of a failed answer's body is read so that its connection can be
// reused.
const drainBytes = 64 << 10

// maxPooled is the largest buffer returned to the pools.
const maxPooled = 64 << 10

// prefix opens the envelope; Answer.Write closes it with the meta.
const prefix = `{"success":true,"data":`

var (
	bufPool     = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
	scannerPool = sync.Pool{New: func() any { return new(scanner) }}
)

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// answer is what an Answer points to: not pooled itself, so that a stale copy of an Answer
// can never write another request's data.
type answer struct {
	ctx    context.Context
	status int
	buf    *[]byte // the envelope up to the data, pooled; nil once written
}

func (o *Op) respond(ctx context.Context, resp *http.Response, err error) (Answer, error) {
	svc := o.binding.Service
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return Answer{}, upstream.Failure(svc, 0, err)
	}
	if resp == nil {
		return Answer{}, upstream.Failure(svc, 0, errors.New("no response"))
	}
	body := resp.Body
	if body == nil {
		body = http.NoBody
	}
	defer func() { _ = body.Close() }()
	if !o.c.isSuccess(resp.StatusCode) {
		_, _ = io.CopyN(io.Discard, body, drainBytes)
		return Answer{}, upstream.Failure(svc, resp.StatusCode, nil)
	}

	sc := scannerPool.Get().(*scanner)
	defer putScanner(sc)
	sc.lim = io.LimitedReader{R: body, N: MaxAnswerBytes + 1}
	if _, err := sc.in.ReadFrom(&sc.lim); err != nil {
		return Answer{}, upstream.Failure(svc, 0, err)
	}
	if sc.in.Len() > MaxAnswerBytes {
		return Answer{}, o.violation("answer over %d bytes", MaxAnswerBytes)
	}

	out := getBuf()
	*out = append(*out, prefix...)
	*out, err = sc.project(*out, o.c.field, o.c.project)
	if err != nil {
		putBuf(out)
		if errors.Is(err, errNoField) {
			return Answer{}, o.violation("answer has no field %q: %v", o.c.field, err)
		}
		return Answer{}, o.violation("answer is not one well-formed JSON value: %v", err)
	}
	if err := o.validate((*out)[len(prefix):]); err != nil {
		putBuf(out)
		return Answer{}, err
	}
	return Answer{&answer{ctx: ctx, status: o.c.status, buf: out}}, nil
}

// validate checks the projected data against the public data schema: in place when the fast
// path can tell it is valid (no tree, no allocation), else decoded, so that the verdict and
// the cause come from Schema.Validate.
func (o *Op) validate(data []byte) error {
	if validation.ValidJSON(data, o.c.schemas...) {
		return nil
	}
	v, err := strictjson.Decode(data, 0)
	if err != nil {
		return o.violation("projected data: %v", err)
	}
	for _, s := range o.c.schemas {
		if err := s.Validate(v); err != nil {
			return o.violation("projected data does not match the public schema: %w", err)
		}
	}
	return nil
}

// violation is the 502 of an upstream answer the public contract cannot carry; the cause,
// for the log only, names the operation.
func (o *Op) violation(format string, args ...any) error {
	cause := fmt.Errorf("binding %s (upstream %s %s): %w", o.operationID, o.binding.Service, o.binding.Operation, fmt.Errorf(format, args...))
	return apierror.ErrUpstreamContractViolation.Wrap(cause)
}

func (c *compiled) isSuccess(status int) bool {
	return c.success[status] || (c.range2xx && status >= 200 && status <= 299)
}

func putScanner(sc *scanner) {
	sc.lim.R = nil
	if sc.in.Cap() > maxPooled {
		sc.in = bytes.Buffer{}
		sc.dec = nil // it aliases the old buffer
	}
	sc.in.Reset()
	scannerPool.Put(sc)
}

func (a Answer) write(w http.ResponseWriter) error {
	if a.a == nil {
		return errEmpty
	}
	if a.a.buf == nil {
		return errWritten
	}
	buf := a.a.buf
	a.a.buf = nil
	defer putBuf(buf)
	meta, err := json.Marshal(envelope.Meta(a.a.ctx))
	if err != nil {
		return fmt.Errorf("binding: encoding meta: %w", err)
	}
	b := append(*buf, `,"meta":`...)
	b = append(b, meta...)
	b = append(b, '}')
	*buf = b
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.a.status)
	_, err = w.Write(b)
	return err
}
