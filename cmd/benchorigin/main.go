// Command benchorigin is the load test's origin: a minimal, fast upstream that speaks the
// demo catalog, orders and users contracts from precomputed bytes (package origin). Both the
// gateway (catalog, orders and users pointing at it) and the bare proxy use it, so that they
// are compared on the same upstream answers.
//
//	benchorigin [-addr 127.0.0.1:9201]
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/contractgate/contractgate/internal/app/benchorigin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9201", "listen address")
	flag.Parse()
	o := benchorigin.New()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The address actually bound (-addr 127.0.0.1:0 picks a free port), last on the line.
	fmt.Fprintf(os.Stderr, "benchorigin: GET /products/prd_0001 is %d bytes; listening on %s\n", len(o.ProductJSON("prd_0001")), ln.Addr())
	srv := &http.Server{
		Handler:           o,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
