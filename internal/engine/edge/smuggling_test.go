package edge_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/edge"
)

// TestNoSmugglingBehindChunkedRequest sends Content-Length and Transfer-Encoding together,
// with a second request hidden in the bytes: the gateway answers the first and closes the
// connection, so the hidden request never runs.
func TestNoSmugglingBehindChunkedRequest(t *testing.T) {
	t.Parallel()
	var served atomic.Int32
	e := echo.New()
	g, err := edge.New(edge.Config{MaxURILength: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	e.Pre(g.Middleware())
	e.Any("/*", func(c echo.Context) error {
		served.Add(1)
		return c.String(http.StatusOK, "ok")
	})
	ts := httptest.NewServer(e)
	defer ts.Close()

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	var responses int
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // the server closed the connection
		}
		if strings.HasPrefix(line, "HTTP/1.1 ") {
			responses++
		}
	}
	if responses != 1 || served.Load() != 1 {
		t.Fatalf("%d responses, %d requests served; want 1 and 1 (connection closed after the chunked request)", responses, served.Load())
	}
}
