package binding

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/envelope"
	"github.com/contractgate/contractgate/internal/engine/resilience"
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
	answerPool  = sync.Pool{New: func() any { return &answer{buf: make([]byte, 0, 4<<10)} }}
	scannerPool = sync.Pool{New: func() any { return new(scanner) }}
)

// answer is what an Answer points to; pooled. Its generation goes up when it is written (or
// given back unused), so that a stale copy of an Answer, whose generation is older, can never
// write another request's data.
type answer struct {
	gen    atomic.Uint64
	ctx    context.Context
	status int
	buf    []byte // the envelope up to the data
}

func getAnswer() *answer {
	a := answerPool.Get().(*answer)
	a.buf = a.buf[:0]
	return a
}

// putAnswer retires a's generation and gives it back to the pool.
func putAnswer(a *answer) {
	a.gen.Add(1)
	a.ctx = nil
	if cap(a.buf) > maxPooled {
		return
	}
	answerPool.Put(a)
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
	in, whole := resilience.BodyBytes(body) // the policies read it whole: no copy
	if !whole {
		sc.lim = io.LimitedReader{R: body, N: MaxAnswerBytes + 1}
		if _, err := sc.in.ReadFrom(&sc.lim); err != nil {
			return Answer{}, upstream.Failure(svc, 0, err)
		}
		in = sc.in.Bytes()
	}
	if len(in) > MaxAnswerBytes {
		return Answer{}, o.violation("answer over %d bytes", MaxAnswerBytes)
	}

	a := getAnswer()
	a.buf = append(a.buf, prefix...)
	// An answer the strict decoder accepts (the common case) is projected off its bytes, and
	// so is strict and within the limits itself; any other goes through the tokenizer,
	// which names what is wrong with it.
	v, accepted := resilience.StrictJSON(body) // the upstream contract check's verdict
	if !accepted {
		v, accepted = strictjson.Accepts(in)
	}
	if accepted {
		a.buf, err = sc.projectAccepted(a.buf, v, o.c.field, o.c.project)
	} else {
		a.buf, err = sc.project(a.buf, in, o.c.field, o.c.project)
	}
	if err != nil {
		putAnswer(a)
		if errors.Is(err, errNoField) {
			return Answer{}, o.violation("answer has no field %q: %v", o.c.field, err)
		}
		return Answer{}, o.violation("answer is not one well-formed JSON value: %v", err)
	}
	if err := o.validate(a.buf[len(prefix):], accepted); err != nil {
		putAnswer(a)
		return Answer{}, err
	}
	a.ctx, a.status = ctx, o.c.status
	return Answer{a: a, gen: a.gen.Load()}, nil
}

// validate checks the projected data against the public data schema: in place when the fast
// path can tell it is valid (no tree, no allocation), else decoded, so that the verdict and
// the cause come from Schema.Validate. The projection read the answer strictly (accepted by
// strictjson.Accepts, or with a strict tokenizer: UTF-8, no duplicate names, one value) and
// copied what it kept verbatim, so the data is strict; it is within the limits when the
// whole answer was accepted, else the limits are checked.
func (o *Op) validate(data []byte, accepted bool) error {
	if (accepted || strictjson.WithinDefaultLimits(data)) && validation.ValidAccepted(data, o.c.schemas...) {
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
	}
	sc.in.Reset()
	if sc.src.Cap() > 0 {
		sc.src = bytes.Buffer{} // it aliased the answer: keep neither it nor the decoder's view
		sc.dec.Reset(&sc.src)
	}
	scannerPool.Put(sc)
}

func (a Answer) write(w http.ResponseWriter) error {
	if a.a == nil {
		return errEmpty
	}
	if !a.a.gen.CompareAndSwap(a.gen, a.gen+1) {
		return errWritten
	}
	// a.a is this Write's alone now: every other copy of a is stale.
	defer putAnswer(a.a)
	b := append(envelope.AppendContextMeta(a.a.ctx, append(a.a.buf, `,"meta":`...)), '}')
	a.a.buf = b
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(a.a.status)
	_, err := w.Write(b)
	return err
}

// jsonContentType is every answer's Content-Type header value, shared (Header.Set would
// allocate it per answer); nothing changes a header's values in place.
var jsonContentType = []string{"application/json"}
