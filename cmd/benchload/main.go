// Command benchload is the load test's HTTP/1.1 load generator: keep-alive connections,
// requests written from precomputed bytes and answers parsed by hand (no net/http client),
// so that it costs a few microseconds per request and leaves the CPU it shares with the
// origin to the origin.
//
// Two modes:
//
//   - closed loop (default): -c connections, each sending its next request as soon as the
//     previous answer arrived, for -d after -warmup. Reports the saturation throughput.
//   - open loop (-rate N): requests are scheduled at N per second regardless of how fast
//     answers come, spread over up to -c connections. A request's latency runs from when
//     the scheduler released it (at most about a millisecond after its due time: Go's
//     timers sleep in whole milliseconds when idle), so that waiting for a free connection
//     behind a slow server counts (no coordinated omission, as in wrk2) while the
//     scheduler's own timer granularity does not.
//
// The last line of output is machine-readable:
//
//	benchload: requests=... errors=... unexpected=... dropped=... seconds=... rps=... p50_us=... p90_us=... p99_us=... p999_us=... max_us=...
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

type config struct {
	addr       string
	request    []byte // request line and headers, without the final CRLF
	body       []byte
	idem       bool
	idemPrefix string
	expect     int
	timeout    time.Duration
}

func main() {
	var headers headerFlags
	rawURL := flag.String("url", "", "target URL (http only)")
	method := flag.String("method", "GET", "request method")
	body := flag.String("body", "", "request body")
	bodyFile := flag.String("body-file", "", "read the request body from this file")
	flag.Var(&headers, "H", `request header "Name: value" (repeatable)`)
	idem := flag.Bool("idempotency-key", false, "send a unique Idempotency-Key on every request")
	idemPrefix := flag.String("idempotency-prefix", "", "prefix of the generated Idempotency-Keys (default: from the clock)")
	conns := flag.Int("c", 32, "connections (closed loop: the concurrency; open loop: the most in use)")
	duration := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before -d")
	rate := flag.Float64("rate", 0, "open loop: requests per second (0: closed loop)")
	expect := flag.Int("expect", 0, "expected status (0: any 2xx); other answers count as unexpected")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request read/write deadline")
	flag.Parse()

	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		fatalf("-url must be an absolute http URL, got %q", *rawURL)
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			fatalf("%v", err)
		}
		*body = string(b)
	}
	if *idemPrefix == "" {
		*idemPrefix = "bl" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	cfg := &config{addr: u.Host, body: []byte(*body), idem: *idem, idemPrefix: *idemPrefix, expect: *expect, timeout: *timeout}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: benchload\r\n", *method, u.RequestURI(), u.Host)
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fatalf("-H %q: want \"Name: value\"", h)
		}
		fmt.Fprintf(&req, "%s: %s\r\n", strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if len(cfg.body) > 0 || *method == "POST" || *method == "PUT" || *method == "PATCH" {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(cfg.body))
	}
	cfg.request = req.Bytes()

	res := run(cfg, *conns, *warmup, *duration, *rate)
	res.print(os.Stdout, *rate)
	if res.requests == 0 {
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchload: "+format+"\n", args...)
	os.Exit(2)
}

// result is what one run measured.
type result struct {
	requests, errors, unexpected, dropped int64
	seconds                               float64
	lat                                   []time.Duration // sorted
	firstError                            string
	firstUnexpected                       string
}

func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

func (r *result) print(w io.Writer, rate float64) {
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) }
	if r.firstError != "" {
		_, _ = fmt.Fprintf(w, "first error: %s\n", r.firstError)
	}
	if r.firstUnexpected != "" {
		_, _ = fmt.Fprintf(w, "first unexpected answer: %s\n", r.firstUnexpected)
	}
	mode := "closed loop"
	if rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f/s", rate)
	}
	_, _ = fmt.Fprintf(w, "%s: %d requests in %.2fs, %.0f/s; latency p50 %sus p90 %sus p99 %sus p99.9 %sus max %sus\n",
		mode, r.requests, r.seconds, float64(r.requests)/r.seconds, us(r.pct(50)), us(r.pct(90)), us(r.pct(99)), us(r.pct(99.9)), us(r.pct(100)))
	_, _ = fmt.Fprintf(w, "benchload: requests=%d errors=%d unexpected=%d dropped=%d seconds=%.3f rps=%.1f p50_us=%s p90_us=%s p99_us=%s p999_us=%s max_us=%s\n",
		r.requests, r.errors, r.unexpected, r.dropped, r.seconds, float64(r.requests)/r.seconds,
		us(r.pct(50)), us(r.pct(90)), us(r.pct(99)), us(r.pct(99.9)), us(r.pct(100)))
}

// scheduled is one open-loop request: when it was due, and when the scheduler released it.
type scheduled struct{ due, released time.Time }

// worker owns one connection and its samples.
type worker struct {
	cfg     *config
	id      int
	conn    net.Conn
	br      *bufio.Reader
	buf     []byte
	n       int64
	lat     []time.Duration
	errors  int64
	unexp   int64
	lastErr string
	lastUnx string
}

func run(cfg *config, conns int, warmup, duration time.Duration, rate float64) *result {
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(duration)
	workers := make([]*worker, conns)
	expected := 4096
	if rate > 0 {
		expected = int(rate*duration.Seconds())/conns + 1024
	}
	for i := range workers {
		workers[i] = &worker{cfg: cfg, id: i, lat: make([]time.Duration, 0, expected)}
	}
	var wg sync.WaitGroup
	var dropped atomic.Int64
	if rate <= 0 {
		for _, w := range workers {
			wg.Go(func() {
				for {
					t0 := time.Now()
					if !t0.Before(end) {
						return
					}
					ok := w.do()
					t1 := time.Now()
					if ok && !t0.Before(measureFrom) && t1.Before(end) {
						w.lat = append(w.lat, t1.Sub(t0))
					}
				}
			})
		}
		wg.Wait()
	} else {
		// The schedule: request i is due at start + i/rate. A dispatcher hands due times to
		// the workers through a queue; a due time waits there while every connection is busy,
		// and that wait counts in its latency.
		total := int((warmup + duration).Seconds() * rate)
		queue := make(chan scheduled, min(total+1, 4<<20))
		interval := time.Duration(float64(time.Second) / rate)
		drainUntil := end.Add(2 * time.Second)
		for _, w := range workers {
			wg.Go(func() {
				for s := range queue {
					if time.Now().After(drainUntil) {
						dropped.Add(1)
						continue
					}
					ok := w.do()
					t1 := time.Now()
					if ok && !s.due.Before(measureFrom) {
						w.lat = append(w.lat, t1.Sub(s.released))
					}
				}
			})
		}
		for i := 0; i < total; {
			now := time.Now()
			for ; i < total; i++ {
				due := start.Add(time.Duration(i) * interval)
				if due.After(now) {
					break
				}
				queue <- scheduled{due: due, released: now}
			}
			time.Sleep(200 * time.Microsecond)
		}
		close(queue)
		wg.Wait()
	}
	res := &result{dropped: dropped.Load(), seconds: duration.Seconds()}
	for _, w := range workers {
		res.requests += int64(len(w.lat))
		res.errors += w.errors
		res.unexpected += w.unexp
		res.lat = append(res.lat, w.lat...)
		if res.firstError == "" {
			res.firstError = w.lastErr
		}
		if res.firstUnexpected == "" {
			res.firstUnexpected = w.lastUnx
		}
		if w.conn != nil {
			_ = w.conn.Close()
		}
	}
	slices.Sort(res.lat)
	return res
}

// do sends one request and reads its answer; it reports whether the answer was the
// expected one.
func (w *worker) do() bool {
	status, err := w.roundTrip()
	if err != nil {
		w.errors++
		w.lastErr = err.Error()
		if w.conn != nil {
			_ = w.conn.Close()
			w.conn = nil
		}
		time.Sleep(10 * time.Millisecond)
		return false
	}
	if (w.cfg.expect == 0 && (status < 200 || status > 299)) || (w.cfg.expect != 0 && status != w.cfg.expect) {
		w.unexp++
		w.lastUnx = strconv.Itoa(status)
		return false
	}
	return true
}

var errClose = errors.New("server closed the connection")

func (w *worker) roundTrip() (int, error) {
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", w.cfg.addr, w.cfg.timeout)
		if err != nil {
			return 0, err
		}
		w.conn = c
		if w.br == nil {
			w.br = bufio.NewReaderSize(c, 64<<10)
		} else {
			w.br.Reset(c)
		}
	}
	b := append(w.buf[:0], w.cfg.request...)
	if w.cfg.idem {
		w.n++
		b = append(b, "Idempotency-Key: "...)
		b = append(b, w.cfg.idemPrefix...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(w.id), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, w.n, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, w.cfg.body...)
	w.buf = b
	_ = w.conn.SetDeadline(time.Now().Add(w.cfg.timeout))
	if _, err := w.conn.Write(b); err != nil {
		return 0, err
	}
	status, closeAfter, err := readResponse(w.br)
	if err != nil {
		return 0, err
	}
	if closeAfter {
		_ = w.conn.Close()
		w.conn = nil
	}
	return status, nil
}

// readResponse reads one HTTP/1.1 response (Content-Length or chunked body) and discards
// its body.
func readResponse(br *bufio.Reader) (status int, closeAfter bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	contentLength, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			contentLength, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closeAfter = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err = br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			sizeText, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
			size, err := strconv.ParseInt(string(sizeText), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("bad chunk size %q", line)
			}
			if size == 0 {
				for { // trailers
					line, err = br.ReadSlice('\n')
					if err != nil {
						return 0, false, err
					}
					if len(line) <= 2 {
						return status, closeAfter, nil
					}
				}
			}
			if _, err := br.Discard(int(size) + 2); err != nil {
				return 0, false, err
			}
		}
	case contentLength >= 0:
		if _, err := br.Discard(int(contentLength)); err != nil {
			return 0, false, err
		}
	case status == 204 || status == 304 || status < 200:
	default:
		return status, true, errClose // body until close: not used by the proxies under test
	}
	return status, closeAfter, nil
}
