// Package envelope builds the meta block every public response carries (request id,
// timestamp, duration, pagination), as the shared components' Meta schema
// (components.Meta, api/components.yaml).
package envelope

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/contractgate/contractgate/internal/engine/components"
	"github.com/contractgate/contractgate/internal/engine/correlation"
)

// TimestampFormat is meta.timestamp's layout: RFC 3339 in UTC with exactly three fractional
// digits, e.g. 2026-11-26T17:05:07.120Z.
const TimestampFormat = "2006-01-02T15:04:05.000Z"

// Meta returns the meta block for the request carried by ctx: its request id, the current
// time (UTC, millisecond precision) and the time spent since the request arrived, in ms.
func Meta(ctx context.Context) components.Meta { return metaAt(ctx, time.Now()) }

func metaAt(ctx context.Context, now time.Time) components.Meta {
	m := components.Meta{Timestamp: now.UTC().Format(TimestampFormat)}
	if info := correlation.FromContext(ctx); info != nil {
		m.RequestId = info.RequestID
		m.Duration = sinceMs(now, info.Start)
	}
	return m
}

// sinceMs is the time from start to now in milliseconds, to the microsecond.
func sinceMs(now, start time.Time) float64 { return float64(now.Sub(start).Microseconds()) / 1000 }

// AppendContextMeta appends Meta(ctx) as AppendMeta encodes it, the timestamp formatted into b
// rather than into a string of its own first: the meta of an answer written around bytes
// (bindings, the answer cache) when it has no pagination or degraded parts.
func AppendContextMeta(ctx context.Context, b []byte) []byte { return appendMetaAt(ctx, b, time.Now()) }

func appendMetaAt(ctx context.Context, b []byte, now time.Time) []byte {
	var id string
	var d float64
	if info := correlation.FromContext(ctx); info != nil {
		id, d = info.RequestID, sinceMs(now, info.Start)
	}
	if !plainMeta(id, d) {
		// AppendMeta fails only for a duration that is not finite, which sinceMs never is.
		b, _ = AppendMeta(b, metaAt(ctx, now))
		return b
	}
	b = now.UTC().AppendFormat(appendMetaHead(b, id, d), TimestampFormat)
	return append(b, `"}`...)
}

// ListMeta returns Meta plus the pagination block of a page of a list.
func ListMeta(ctx context.Context, page, pageSize int32, totalItems int64) components.Meta {
	m := Meta(ctx)
	m.Pagination = Pagination(page, pageSize, totalItems)
	return m
}

// Pagination describes page (1-based) of pageSize items out of totalItems.
func Pagination(page, pageSize int32, totalItems int64) *components.Pagination {
	totalPages := int32(0)
	if pageSize > 0 {
		totalPages = int32((totalItems + int64(pageSize) - 1) / int64(pageSize))
	}
	return &components.Pagination{
		Page:        page,
		PageSize:    pageSize,
		TotalItems:  totalItems,
		TotalPages:  totalPages,
		HasNext:     page < totalPages,
		HasPrevious: page > 1,
	}
}

// AppendMeta appends m to b as encoding/json encodes it: without reflection in the common
// case (no degraded parts, no pagination, plain ASCII strings, a duration encoding/json
// writes without an exponent), else through json.Marshal. For answers written around bytes
// (bindings, the answer cache).
func AppendMeta(b []byte, m components.Meta) ([]byte, error) {
	if m.Degraded != nil || m.Pagination != nil || !plainString(m.Timestamp) || !plainMeta(m.RequestId, m.Duration) {
		meta, err := json.Marshal(m)
		if err != nil {
			return b, err
		}
		return append(b, meta...), nil
	}
	b = append(appendMetaHead(b, m.RequestId, m.Duration), m.Timestamp...)
	return append(b, `"}`...), nil
}

// plainMeta reports whether a meta block of request id id and duration d is one
// appendMetaHead writes as encoding/json does: id plain ASCII, d written without an exponent.
func plainMeta(id string, d float64) bool {
	abs := math.Abs(d)
	return plainString(id) && (abs == 0 || abs >= 1e-6 && abs < 1e21)
}

// appendMetaHead appends a plain meta block (plainMeta) up to its timestamp's value; the
// caller appends that and `"}`.
func appendMetaHead(b []byte, id string, d float64) []byte {
	b = append(b, `{"duration":`...)
	b = strconv.AppendFloat(b, d, 'f', -1, 64)
	b = append(b, `,"requestId":"`...)
	b = append(b, id...)
	return append(b, `","timestamp":"`...)
}

// plainString reports whether encoding/json writes s between quotes as is: printable ASCII
// without the characters it escapes.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
