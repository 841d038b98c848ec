// Package ops serves the operator endpoints: liveness, readiness, and the served contract.
// They are outside the public API: no auth, no rate limit, no envelope.
package ops

import (
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"
)

// Ops holds the state behind the operator endpoints. Safe for concurrent use.
type Ops struct {
	specYAML []byte
	specJSON []byte
	states   func() map[string]string
	draining atomic.Bool
}

// New returns the operator endpoints for a contract (as YAML and JSON); states reports each
// upstream's circuit state (closed, open, half-open) for /readyz.
func New(specYAML, specJSON []byte, states func() map[string]string) *Ops {
	return &Ops{specYAML: specYAML, specJSON: specJSON, states: states}
}

// Router is where the endpoints are registered: an *echo.Echo, or a router that adds HEAD
// to every GET route (routes.WithHead).
type Router interface {
	GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Register adds GET /healthz, /readyz, /openapi.json and /openapi.yaml to e.
func (o *Ops) Register(e Router) {
	o.RegisterHealth(e)
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, o.specJSON)
	})
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", o.specYAML)
	})
}

// RegisterHealth adds GET /healthz and /readyz to e (also used on the admin listener).
func (o *Ops) RegisterHealth(e Router) {
	e.GET("/healthz", o.healthz)
	e.GET("/readyz", o.readyz)
}

// Drain marks the process as shutting down: /readyz answers 503 from now on, so that load
// balancers stop sending new requests while in-flight ones finish.
func (o *Ops) Drain() { o.draining.Store(true) }

// Status is the body of /healthz and /readyz.
type Status struct {
	Status    string            `json:"status"`
	Upstreams map[string]string `json:"upstreams,omitempty"`
}

func (o *Ops) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, Status{Status: "ok"})
}

func (o *Ops) readyz(c echo.Context) error {
	// An open circuit does not make the replica unready: every replica sees the same
	// upstream, and taking them all out of rotation would turn one failing upstream into a
	// full outage. /readyz reports the states for operators.
	ups := o.states()
	if o.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, Status{Status: "draining", Upstreams: ups})
	}
	return c.JSON(http.StatusOK, Status{Status: "ready", Upstreams: ups})
}
