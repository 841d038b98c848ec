package e2e_test

import (
	"context"
	"fmt"
	"github.com/contractgate/contractgate/internal/app"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/server"
)

// TestAdminListener: pprof and metrics on the admin listener only, never on the public one.
func TestAdminListener(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t)
	cfg := *env.Config
	cfg.Admin.Addr = freeAddr(t)
	cfg.Admin.Pprof = true
	cfg.Admin.MetricsOnAdminOnly = true
	srv, err := server.New(&cfg, app.App(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	public, admin := "http://"+ln.Addr().String(), "http://"+cfg.Admin.Addr
	waitFor(t, admin+"/healthz")
	tests := []struct {
		url      string
		status   int
		contains string
	}{
		{admin + "/debug/pprof/", 200, "goroutine"},
		{admin + "/metrics", 200, "contractgate_requests_in_flight"},
		{admin + "/readyz", 200, "ready"},
		{public + "/debug/pprof/", 404, "ROUTE_NOT_FOUND"},
		{public + "/metrics", 404, "ROUTE_NOT_FOUND"},
	}
	for _, tt := range tests {
		res, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || !strings.Contains(string(b), tt.contains) {
			t.Errorf("%s: %d %.120s", tt.url, res.StatusCode, b)
		}
	}
}

// freeAddr returns a free address on a loopback address of its own (all of 127/8 is
// loopback), so that no other test binds its port before the server does.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:0", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not come up", url)
}
