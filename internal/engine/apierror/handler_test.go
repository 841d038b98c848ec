package apierror

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

func TestPrefersProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"application/json", false},
		{"*/*", false},
		{"application/problem+json", true},
		{"application/problem+json, application/json;q=0.5", true},
		{"application/json, application/problem+json", false},
		{"application/json;q=0.1, application/problem+json;q=0.9", true},
		{"application/problem+json;q=0", false},
		{"text/html, application/problem+json", true},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			t.Parallel()
			if got := prefersProblem(tt.accept); got != tt.want {
				t.Fatalf("prefersProblem(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

// TestHandlerRecordsTheCode: the handler records the code it answers with on the request's
// correlation.Info, where the observation step reads it; a client gone records none.
func TestHandlerRecordsTheCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		gone bool
		want string
	}{
		{"typed error", ErrConflict.Wrap(errors.New("cause")), false, "CONFLICT"},
		{"echo's 404", echo.ErrNotFound, false, "ROUTE_NOT_FOUND"},
		{"unknown error", errors.New("boom"), false, "INTERNAL_SERVER_ERROR"},
		{"client gone", context.Canceled, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			info := &correlation.Info{}
			ctx, cancel := context.WithCancel(correlation.NewContext(context.Background(), info))
			if tt.gone {
				cancel()
			}
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/orders", nil)
			c := echo.New().NewContext(req, httptest.NewRecorder())
			Handler(slog.New(slog.DiscardHandler))(tt.err, c)
			if info.ErrorCode != tt.want {
				t.Fatalf("ErrorCode %q, want %q", info.ErrorCode, tt.want)
			}
		})
	}
}

// TestProblemTypeBaseURL: a problem document's type is the configured base plus the code.
func TestProblemTypeBaseURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		opts []HandlerOption
		want string
	}{
		{"default", nil, "https://contractgate.dev/errors/rate-limit-exceeded"},
		{"configured", []HandlerOption{WithProblemTypeBaseURL("https://acme.example/problems/")}, "https://acme.example/problems/rate-limit-exceeded"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := echo.New()
			e.HTTPErrorHandler = Handler(slog.New(slog.DiscardHandler), tt.opts...)
			e.GET("/x", func(echo.Context) error { return ErrRateLimitExceeded })
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			req.Header.Set(echo.HeaderAccept, "application/problem+json")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != tt.want {
				t.Fatalf("type %q (%v), want %q", p.Type, err, tt.want)
			}
		})
	}
}
