package idempotency

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/apierror"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/enginetest"
	"github.com/contractgate/contractgate/internal/engine/identity"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// BenchmarkFloodOfBulkyErrors is the attack of issue 13 item 4 in process: twelve callers
// send keyed createOrder requests that fail with a 422 of about 7 KB (50 validation
// details). It reports the bytes and records the memory store holds at the end (heldB,
// records): bounded by the per-caller quotas and MaxErrorBodyBytes, not by the flood.
func BenchmarkFloodOfBulkyErrors(b *testing.B) {
	b.Run("default", func(b *testing.B) { floodOfBulkyErrors(b, Config{}) })
	// Bulky errors kept: the per-caller quotas bound the store (12 x 1 MiB).
	b.Run("errors stored", func(b *testing.B) { floodOfBulkyErrors(b, Config{MaxErrorBodyBytes: 16 << 10}) })
}

func floodOfBulkyErrors(b *testing.B, cfg Config) {
	spec, err := enginetest.Shop()
	if err != nil {
		b.Fatal(err)
	}
	tbl, err := routes.New(spec)
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg.SetDefaults()
	m, err := New(cfg, tbl, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	st := m.store.(*memoryStore)
	details := make([]apierror.Detail, 50)
	for i := range details {
		details[i] = apierror.Detail{Field: fmt.Sprintf("body.items[%d].productId", i), Constraint: "exists",
			Message: "no product with this id exists in the catalog; check the id and try again"}
	}
	e := echo.New()
	e.HTTPErrorHandler = apierror.Handler(logger)
	e.Pre(correlation.New().Middleware())
	e.Use(tbl.Match(), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			c.SetRequest(req.WithContext(identity.NewContext(req.Context(), identity.Identity{Subject: req.Header.Get("X-Subject")})))
			return next(c)
		}
	}, m.Middleware())
	e.POST("/v1/orders", func(echo.Context) error { return apierror.ErrValidationFailed.WithDetails(details...) })

	const body = `{"items":[{"productId":"prd_9999","quantity":1}]}`
	var bodyBytes int
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		req.Header.Set("Idempotency-Key", "k-"+strconv.Itoa(i))
		req.Header.Set("X-Subject", "attacker-"+strconv.Itoa(i%12))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code == http.StatusUnprocessableEntity {
			bodyBytes = rec.Body.Len()
		}
	}
	st.mu.Lock()
	held, records := st.bytes, len(st.entries)
	st.mu.Unlock()
	b.ReportMetric(float64(held), "heldB")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(bodyBytes), "errorB")
}
