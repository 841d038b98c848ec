package envelope_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
	"github.com/contractgate/contractgate/internal/engine/envelope"
)

// TestAppendMeta: the meta is written as encoding/json writes it, fast path or not.
func TestAppendMeta(t *testing.T) {
	t.Parallel()
	degraded := []string{"stale"}
	for _, m := range []components.Meta{
		{},
		{RequestId: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", Timestamp: "2026-12-06T03:55:47.123Z", Duration: 1.234},
		{RequestId: "r", Timestamp: "t", Duration: 12345678.5},
		{Duration: -0.25}, {Duration: 1e-7}, {Duration: 1e21}, {Duration: 5e-6}, {Duration: 1e20},
		{RequestId: `a"b\c`}, {RequestId: "<"}, {RequestId: ">"}, {RequestId: "&"}, {RequestId: "é"}, {RequestId: "\u2028"}, {RequestId: "\x01"}, {RequestId: "\xff"},
		{Timestamp: "\t"},
		{Degraded: &degraded, RequestId: "r"},
		{Pagination: &components.Pagination{Page: 1, PageSize: 20, TotalItems: 3, TotalPages: 1}},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := envelope.AppendMeta([]byte("x"), m)
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("envelope.AppendMeta(%+v) = %s, %v; want x%s", m, got, err, want)
		}
	}
	if _, err := envelope.AppendMeta(nil, components.Meta{Duration: math.Inf(1)}); err == nil {
		t.Error("AppendMeta of an infinite duration: no error")
	}
}

// AppendContextMeta writes what AppendMeta writes for Meta(ctx), the request's or none.
func TestAppendContextMeta(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 3, 55, 47, 123456789, time.FixedZone("x", 3600))
	for _, ctx := range []context.Context{
		context.Background(),
		correlation.NewContext(context.Background(), &correlation.Info{RequestID: "0193a9a2-7c1e-7d4a-9b2e-3f5c6d7e8f90", Start: now.Add(-1234567 * time.Nanosecond)}),
		correlation.NewContext(context.Background(), &correlation.Info{RequestID: "r", Start: now}),
		correlation.NewContext(context.Background(), &correlation.Info{RequestID: "<&>", Start: now.Add(-3 * time.Hour)}),
		correlation.NewContext(context.Background(), &correlation.Info{RequestID: "late", Start: now.Add(time.Second)}),
	} {
		want, err := envelope.AppendMeta([]byte("x"), envelope.MetaAt(ctx, now))
		if err != nil {
			t.Fatal(err)
		}
		if got := envelope.AppendMetaAt(ctx, []byte("x"), now); string(got) != string(want) {
			t.Errorf("AppendContextMeta = %s, want %s", got, want)
		}
	}
}
