package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/strictjson"
	"github.com/contractgate/contractgate/internal/engine/validation"
)

// body is an upstream response body that records whether it was closed.
type body struct {
	io.Reader
	closed bool
}

func (b *body) Close() error { b.closed = true; return nil }

func answerOf(status int, r io.Reader) (*http.Response, *body) {
	b := &body{Reader: r}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}, b
}

// failingReader yields some bytes, then an error (an upstream cut off mid-body).
type failingReader struct{ done bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.done {
		return 0, io.ErrUnexpectedEOF
	}
	f.done = true
	return copy(p, `{"id":"p1","na`), nil
}

// spaces is an endless answer.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestRespondFailures(t *testing.T) {
	t.Parallel()
	s := fixtureSet(t)
	tests := []struct {
		desc       string
		op         string
		status     int       // upstream status (0: no response)
		body       io.Reader // upstream body
		err        error     // transport error
		wantStatus int
		wantCode   apierror.Code
	}{
		{desc: "404", op: "getProduct", status: 404, body: strings.NewReader(`{"code":"NOT_FOUND"}`), wantStatus: 404, wantCode: apierror.ErrNotFound.Code},
		{desc: "409", op: "createProduct", status: 409, body: strings.NewReader(`{}`), wantStatus: 409, wantCode: apierror.ErrConflict.Code},
		{desc: "500", op: "getProduct", status: 500, body: strings.NewReader(`oops`), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "503", op: "getProduct", status: 503, body: strings.NewReader(``), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "2xx the upstream does not declare", op: "getProduct", status: 201, body: strings.NewReader(`{"id":"p1"}`), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "200 where 201 is declared", op: "createProduct", status: 200, body: strings.NewReader(`{"id":"p1"}`), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "400: the gateway's bug, not the client's", op: "getProduct", status: 400, body: strings.NewReader(`{}`), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "transport timeout", op: "getProduct", err: fmt.Errorf("get: %w", context.DeadlineExceeded), wantStatus: 504, wantCode: apierror.ErrUpstreamTimeout.Code},
		{desc: "connection refused", op: "getProduct", err: &netError{syscall.ECONNREFUSED}, wantStatus: 503, wantCode: apierror.ErrUpstreamUnavailable.Code},
		{desc: "transport error with a response", op: "getProduct", status: 200, body: strings.NewReader(`{}`), err: errors.New("reset"), wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "cut off mid-body", op: "getProduct", status: 200, body: &failingReader{}, wantStatus: 502, wantCode: apierror.ErrUpstream.Code},
		{desc: "not JSON", op: "getProduct", status: 200, body: strings.NewReader(`<html>`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "empty", op: "getProduct", status: 200, body: strings.NewReader(``), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "oversized", op: "getProduct", status: 200, body: io.MultiReader(strings.NewReader(`{"id":"p1"}`), spaces{}), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "data field missing", op: "listProducts", status: 200, body: strings.NewReader(`{"total":0}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected data misses a required property", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","priceCents":1,"passwordHash":"x"}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected data of the wrong type", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","name":"Mug","priceCents":"12"}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected nested data invalid", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","name":"Mug","priceCents":1,"variants":[{"sku":"a","price":{"amount":1,"currency":"EURO"}}]}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected data nested too deep (extra is kept as is)", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","name":"Mug","priceCents":1,"extra":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected number beyond the limits", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","name":"Mug","priceCents":1,"extra":1e99999}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "projected string invalid after unescaping", op: "getProduct", status: 200, body: strings.NewReader(`{"id":"p1","name":"Mug","priceCents":1,"variants":[{"sku":"a","price":{"amount":1,"currency":"\u0045URO"}}]}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
		{desc: "items invalid", op: "listProducts", status: 200, body: strings.NewReader(`{"items":[{"id":"a","name":"","priceCents":1}],"total":1}`), wantStatus: 502, wantCode: apierror.ErrUpstreamContractViolation.Code},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			o := mustOp(t, s, tt.op)
			var resp *http.Response
			var b *body
			if tt.status != 0 {
				resp, b = answerOf(tt.status, tt.body)
			}
			_, err := o.Respond(context.Background(), resp, tt.err)
			ae, ok := errors.AsType[*apierror.Error](err)
			if !ok {
				t.Fatalf("err = %v, want an *apierror.Error", err)
			}
			if ae.Status != tt.wantStatus || ae.Code != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s (%v)", ae.Status, ae.Code, tt.wantStatus, tt.wantCode, err)
			}
			if ae.Code == apierror.ErrUpstreamContractViolation.Code && (!strings.Contains(err.Error(), tt.op) || ae.Message != apierror.ErrUpstreamContractViolation.Message) {
				t.Fatalf("the cause must name %s, the message stay generic: %v", tt.op, err)
			}
			if b != nil && !b.closed {
				t.Fatal("body not closed")
			}
		})
	}
}

type netError struct{ errno syscall.Errno }

func (e *netError) Error() string { return "dial: " + e.errno.Error() }
func (e *netError) Unwrap() error { return e.errno }

func TestRespondSuccess(t *testing.T) {
	t.Parallel()
	public, ups := fixtures(t)
	s, err := New(public, ups)
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := validation.NewSchemas(public)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		op       string
		status   int
		in       string
		envelope string // pointer of the public envelope schema
		want     int
		wantData string
	}{
		{
			desc: "200, undeclared fields dropped", op: "getProduct", status: 200,
			in:       `{"id":"p1","name":"Mug \u00e9","priceCents":9007199254740993,"passwordHash":"$2a$10$x","tags":["a"]}`,
			envelope: "/components/schemas/ProductEnvelope", want: 200,
			wantData: `{"id":"p1","name":"Mug \u00e9","priceCents":9007199254740993,"tags":["a"]}`,
		},
		{
			desc: "201", op: "createProduct", status: 201,
			in:       `{"id":"p2","name":"Cup","priceCents":0,"passwordHash":"x"}`,
			envelope: "/components/schemas/ProductEnvelope", want: 201,
			wantData: `{"id":"p2","name":"Cup","priceCents":0}`,
		},
		{
			desc: "data: body.items", op: "listProducts", status: 200,
			in:       `{"items":[{"id":"a","name":"A","priceCents":1,"passwordHash":"x"}],"total":1}`,
			envelope: "/paths/~1v1~1products/get/responses/200/content/application~1json/schema", want: 200,
			wantData: `[{"id":"a","name":"A","priceCents":1}]`,
		},
		{
			desc: "numbers byte-exact", op: "getMeasurement", status: 200,
			in:       `{"value":1e400,"count":123456789012345678901234567890,"samples":[0.10,1E-400]}`,
			envelope: "/paths/~1v1~1measurements~1{id}/get/responses/200/content/application~1json/schema", want: 200,
			wantData: `{"value":1e400,"count":123456789012345678901234567890,"samples":[0.10,1E-400]}`,
		},
	}
	// The envelope schemas are compiled before the subtests run in parallel: a validation
	// compiler is for start-up, not for concurrent use.
	envelopes := map[string]*validation.Schema{}
	for _, tt := range tests {
		if envelopes[tt.envelope] == nil {
			es, err := schemas.Compile(tt.envelope)
			if err != nil {
				t.Fatal(err)
			}
			envelopes[tt.envelope] = es
		}
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx := correlation.NewContext(context.Background(), &correlation.Info{RequestID: "req-" + tt.op, Start: time.Now().Add(-2 * time.Millisecond)})
			resp, b := answerOf(tt.status, strings.NewReader(tt.in))
			a, err := mustOp(t, s, tt.op).Respond(ctx, resp, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !b.closed {
				t.Fatal("body not closed")
			}
			rec := httptest.NewRecorder()
			if err := a.Write(rec); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.want || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			got := rec.Body.String()
			if want := `{"success":true,"data":` + tt.wantData + `,"meta":{`; !strings.HasPrefix(got, want) {
				t.Fatalf("got  %s\nwant %s...", got, want)
			}
			var env struct {
				Success bool
				Meta    struct {
					RequestID string `json:"requestId"`
					Timestamp string
					Duration  float64
				}
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if !env.Success || env.Meta.RequestID != "req-"+tt.op || env.Meta.Timestamp == "" || env.Meta.Duration < 2 {
				t.Fatalf("envelope %+v", env)
			}
			schema := envelopes[tt.envelope]
			v, err := strictjson.Decode(rec.Body.Bytes(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(v); err != nil {
				t.Fatalf("the answer does not match the public envelope: %v", err)
			}
			if err := a.Write(httptest.NewRecorder()); err == nil {
				t.Fatal("second Write succeeded")
			}
		})
	}
}

func TestRespondConcurrent(t *testing.T) {
	t.Parallel()
	o := mustOp(t, fixtureSet(t), "getProduct")
	const workers, each = 8, 40
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				id := fmt.Sprintf("p-%d-%d", w, i)
				in := fmt.Sprintf(`{"id":%q,"name":"n","priceCents":%d,"passwordHash":"x"}`, id, i)
				resp, _ := answerOf(200, strings.NewReader(in))
				a, err := o.Respond(context.Background(), resp, nil)
				if err != nil {
					errs <- err
					return
				}
				rec := httptest.NewRecorder()
				if err := a.Write(rec); err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf(`{"success":true,"data":{"id":%q,"name":"n","priceCents":%d},"meta":`, id, i)
				if !strings.HasPrefix(rec.Body.String(), want) {
					errs <- fmt.Errorf("got %s, want %s...", rec.Body, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestStaleAnswer: a copy of a written Answer cannot write again, not even once its pooled
// state serves another request.
func TestStaleAnswer(t *testing.T) {
	t.Parallel()
	o := mustOp(t, fixtureSet(t), "getProduct")
	respond := func(id string) Answer {
		resp, _ := answerOf(200, strings.NewReader(`{"id":"`+id+`","name":"n","priceCents":1}`))
		a, err := o.Respond(context.Background(), resp, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := respond("first")
	stale := first
	if err := first.Write(httptest.NewRecorder()); err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // the pool may hand first's state to one of these
		next := respond(fmt.Sprint("next-", i))
		rec := httptest.NewRecorder()
		if err := stale.Write(rec); err == nil || rec.Body.Len() > 0 {
			t.Fatalf("stale copy wrote %q (err %v)", rec.Body, err)
		}
		rec = httptest.NewRecorder()
		if err := next.Write(rec); err != nil || !strings.Contains(rec.Body.String(), fmt.Sprint(`"next-`, i, `"`)) {
			t.Fatalf("next answer: %q (err %v)", rec.Body, err)
		}
	}
	if err := (Answer{}).Write(httptest.NewRecorder()); err == nil {
		t.Fatal("the zero Answer wrote")
	}
}
