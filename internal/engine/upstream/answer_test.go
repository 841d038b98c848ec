package upstream

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/contractgate/contractgate/internal/engine/apierror"
)

type answerThing struct {
	ID    string `json:"id"`
	Count int    `json:"count"`
}

// closeCounter is a body that records whether it was closed.
type closeCounter struct {
	io.Reader
	closed bool
}

func (c *closeCounter) Close() error { c.closed = true; return nil }

func TestAnswer(t *testing.T) {
	for _, c := range []struct {
		desc, contentType, body string
		status                  int
		err                     error
		want                    *answerThing
		wantErr                 *apierror.Error
	}{
		{desc: "declared status, JSON", contentType: "application/json", body: `{"id":"a","count":2}`, status: 200,
			want: &answerThing{ID: "a", Count: 2}},
		{desc: "JSON with parameters", contentType: "application/json; charset=utf-8", body: `{"id":"a"}`, status: 200,
			want: &answerThing{ID: "a"}},
		{desc: "a +json type", contentType: "application/problem+json", body: `{"id":"a"}`, status: 200,
			want: &answerThing{ID: "a"}},
		{desc: "any type naming json, as the generated decoders take", contentType: "text/json", body: `{"id":"a"}`, status: 200,
			want: &answerThing{ID: "a"}},
		{desc: "invalid UTF-8", contentType: "application/json", body: "{\"id\":\"a\xff\"}", status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "member names match exactly", contentType: "application/json", body: `{"ID":"a","Count":2}`, status: 200,
			want: &answerThing{}},
		{desc: "unknown members ignored", contentType: "application/json", body: `{"id":"a","extra":[1]}`, status: 200,
			want: &answerThing{ID: "a"}},
		{desc: "another status", contentType: "application/json", body: `{"id":"a"}`, status: 404, wantErr: apierror.ErrNotFound},
		{desc: "a 5xx", contentType: "application/json", body: `{}`, status: 503, wantErr: apierror.ErrUpstream},
		{desc: "not JSON", contentType: "text/plain", body: `{"id":"a"}`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "no content type", body: `{"id":"a"}`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "malformed", contentType: "application/json", body: `{"id":`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "wrong type", contentType: "application/json", body: `{"id":7}`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "duplicate names", contentType: "application/json", body: `{"id":"a","id":"b"}`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "trailing data", contentType: "application/json", body: `{"id":"a"} {}`, status: 200, wantErr: apierror.ErrUpstreamContractViolation},
		{desc: "call failed", err: syscall.ECONNREFUSED, wantErr: apierror.ErrUpstreamUnavailable},
	} {
		t.Run(c.desc, func(t *testing.T) {
			var resp *http.Response
			body := &closeCounter{Reader: strings.NewReader(c.body)}
			if c.err == nil {
				resp = &http.Response{StatusCode: c.status, Header: http.Header{}, Body: body}
				if c.contentType != "" {
					resp.Header.Set("Content-Type", c.contentType)
				}
			}
			got, err := Answer[answerThing]("things", resp, c.err, http.StatusOK)
			if c.wantErr != nil {
				var ae *apierror.Error
				if !errors.As(err, &ae) || ae.Code != c.wantErr.Code {
					t.Fatalf("err = %v, want %s", err, c.wantErr.Code)
				}
				if got != nil {
					t.Errorf("value %+v with an error", got)
				}
			} else {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if *got != *c.want {
					t.Errorf("got %+v, want %+v", *got, *c.want)
				}
			}
			if resp != nil && !body.closed {
				t.Error("body not closed")
			}
		})
	}
}
