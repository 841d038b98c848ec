// Package demo holds what the demo upstream services share: their Echo setup, fault injection with its admin API, and the run loop.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// ShutdownGrace is how long Run waits for in-flight requests when it stops.
const ShutdownGrace = 5 * time.Second

// NewEcho returns an Echo instance serving one demo service: banner and port hidden,
// panics recovered, every error answered as JSON {"code","message"} (404 for unknown
// routes, 500 for panics), requests counted and faulted by faults (nil: neither), and
// the service's routes added by register.
func NewEcho(faults *Faults, register func(e *echo.Echo)) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			slog.Error("demo handler panicked", "method", c.Request().Method, "path", c.Request().URL.Path,
				"err", err, "stack", string(stack))
			return loggedError{err}
		},
	}))
	if faults != nil {
		e.Use(faults.Middleware())
	}
	register(e)
	return e
}

// errorBody is the error shape of every demo upstream contract.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// loggedError marks an error that was logged already (a recovered panic, with its stack).
type loggedError struct{ error }

// Unwrap returns the logged error.
func (e loggedError) Unwrap() error { return e.error }

// errorHandler answers an error returned by a handler or middleware as JSON {"code","message"}.
// Client errors keep their status and message; everything else is a 500 that leaks no detail.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := http.StatusInternalServerError, "INTERNAL", "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code < 500 {
		status = he.Code
		code = strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		switch status {
		case http.StatusNotFound:
			msg = "route not found"
		case http.StatusMethodNotAllowed:
			msg = "method not allowed"
		default:
			msg = fmt.Sprint(he.Message)
		}
	} else if !errors.As(err, new(loggedError)) {
		slog.Error("demo request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = writeError(c.Response(), status, code, msg)
}

// writeError writes the JSON error {"code","message"} with the given status.
func writeError(w http.ResponseWriter, status int, code, message string) error {
	return writeJSON(w, status, errorBody{Code: code, Message: message})
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// Run serves one demo service on addr, and its fault-injection admin API (Faults.AdminHandler)
// on adminAddr unless that is empty, until ctx is done or a server fails; then it shuts both
// down, giving in-flight requests ShutdownGrace (hanging requests are reset at once).
// It logs start and stop with log/slog and returns the first error, if any.
func Run(ctx context.Context, name, addr, adminAddr string, register func(e *echo.Echo)) error {
	faults := NewFaults()
	e := NewEcho(faults, register)
	e.Server.ReadHeaderTimeout = 5 * time.Second
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	e.Listener = ln

	var admin *http.Server
	var adminLn net.Listener
	if adminAddr != "" {
		if adminLn, err = net.Listen("tcp", adminAddr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("%s: admin listen: %w", name, err)
		}
		admin = &http.Server{Handler: faults.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	}

	errc := make(chan error, 2)
	go func() { errc <- serveErr(e.Start(ln.Addr().String())) }()
	attrs := []any{"service", name, "addr", ln.Addr().String()}
	if admin != nil {
		go func() { errc <- serveErr(admin.Serve(adminLn)) }()
		attrs = append(attrs, "admin", adminLn.Addr().String())
	}
	slog.Info("demo upstream started", attrs...)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			runErr = fmt.Errorf("%s: serve: %w", name, err)
		}
	}

	faults.releaseHung()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	shutErr := e.Shutdown(sctx)
	if admin != nil {
		shutErr = errors.Join(shutErr, admin.Shutdown(sctx))
	}
	if shutErr != nil {
		shutErr = fmt.Errorf("%s: shutdown: %w", name, shutErr)
	}
	slog.Info("demo upstream stopped", "service", name)
	return errors.Join(runErr, shutErr)
}

// serveErr maps the error a server returns after a clean shutdown to nil.
func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Main is the whole of a demo service's main: flags -addr and -admin-addr (with the given
// defaults), text logging, and Run until SIGINT or SIGTERM. It returns the process exit code.
func Main(name, defaultAddr, defaultAdminAddr string, register func(e *echo.Echo)) int {
	fs := flag.NewFlagSet("demo-"+name, flag.ContinueOnError)
	addr := fs.String("addr", defaultAddr, "listen address of the "+name+" service")
	adminAddr := fs.String("admin-addr", defaultAdminAddr, "listen address of the fault-injection admin API (empty disables it)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, name, *addr, *adminAddr, register); err != nil {
		slog.Error("demo-"+name+" failed", "err", err)
		return 1
	}
	return 0
}
