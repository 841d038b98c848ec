package idempotency

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/correlation"
)

func TestReplayBody(t *testing.T) {
	t.Parallel()
	ctx := correlation.NewContext(context.Background(), &correlation.Info{RequestID: "req-2", Start: time.Now()})
	tests := []struct {
		desc, contentType, in string
		want                  string // "" means unchanged
		wantPrefix            string
	}{
		{"success envelope", "application/json; charset=UTF-8",
			`{"success":true,"data":{"b":1, "a":[1.0,"\u003c"]},"meta":{"requestId":"req-1","timestamp":"x","duration":1.5,"pagination":{"page":1}}}` + "\n",
			"", `{"success":true,"data":{"b":1, "a":[1.0,"\u003c"]},"meta":{"duration":`},
		{"error envelope", "application/json",
			`{"error":{"code":"CONFLICT","message":"m"},"meta":{"requestId":"req-1"},"success":false}`,
			"", `{"success":false,"error":{"code":"CONFLICT","message":"m"},"meta":{"duration":`},
		{"problem document", "application/problem+json",
			`{"type":"t","title":"Conflict","status":409,"detail":"a <b>","instance":"/v1/orders","code":"CONFLICT","requestId":"req-1"}` + "\n",
			`{"type":"t","title":"Conflict","status":409,"detail":"a \u003cb\u003e","instance":"/v1/orders","code":"CONFLICT","requestId":"req-2"}` + "\n", ""},
		{"unknown top-level member", "application/json", `{"success":true,"data":1,"meta":{},"extra":1}`, "", ""},
		{"no meta", "application/json", `{"success":true,"data":1}`, "", ""},
		{"trailing value", "application/json", `{"success":true,"data":1,"meta":{}} {}`, "", ""},
		{"not JSON", "text/plain", `hello`, "", ""},
		{"empty", "", ``, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := string(replayBody(ctx, tt.contentType, []byte(tt.in)))
			switch {
			case tt.wantPrefix != "":
				if !strings.HasPrefix(got, tt.wantPrefix) || !strings.Contains(got, `"requestId":"req-2"`) ||
					strings.Contains(got, `"timestamp":"x"`) || strings.HasSuffix(tt.in, "\n") != strings.HasSuffix(got, "}\n") {
					t.Fatalf("got %s", got)
				}
				if strings.Contains(tt.in, "pagination") && !strings.Contains(got, `"pagination":{"page":1}`) {
					t.Fatalf("meta lost pagination: %s", got)
				}
			case tt.want != "":
				if got != tt.want {
					t.Fatalf("got  %s\nwant %s", got, tt.want)
				}
			default:
				if got != tt.in {
					t.Fatalf("changed: %s", got)
				}
			}
		})
	}
}
