package e2e_test

import (
	"context"
	"github.com/contractgate/contractgate/internal/app"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/server"
)

// TestGracefulShutdown: requests in flight when shutdown begins (SIGTERM cancels the
// context Serve runs under) complete with 200, new connections are refused, Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t) // only for its upstreams
	mustSet(t, env.Catalog.Faults, demo.Fault{Latency: 400 * time.Millisecond})

	srv, err := server.New(env.Config, app.App(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sigterm := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	const inFlight = 5
	var wg sync.WaitGroup
	statuses := make(chan int, inFlight)
	for range inFlight {
		wg.Go(func() {
			res, err := http.Get(base + "/v1/products/prd_0001")
			if err != nil {
				t.Errorf("in-flight request failed: %v", err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	time.Sleep(150 * time.Millisecond) // the requests are now waiting on the slow upstream
	sigterm()
	wg.Wait()
	close(statuses)
	n := 0
	for s := range statuses {
		n++
		if s != http.StatusOK {
			t.Errorf("in-flight request answered %d", s)
		}
	}
	if n != inFlight {
		t.Fatalf("%d of %d in-flight requests completed", n, inFlight)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the listener still accepts connections after shutdown")
	}
}
