package apierror

import (
	"context"
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
