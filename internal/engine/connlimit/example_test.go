package connlimit_test

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/contractgate/contractgate/internal/engine/connlimit"
)

// A server whose listener holds at most 100 connections, 10 per client address: the
// limiter wraps the listener and watches the server's connection states.
func Example() {
	lim, err := connlimit.New(connlimit.Config{Max: 100, MaxPerClient: 10}, connlimit.Hooks{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second, ConnState: lim.ConnState}
	go func() { _ = srv.Serve(lim.Listener(ln)) }()
	defer srv.Close()

	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, lim.Open())
	// Output: 404 1
}
