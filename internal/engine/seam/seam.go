// Package seam is where an app plugs into the engine: its contracts and a function that
// mounts its operations (the generated strict server of its public contract, with its
// hand-written handlers and the generated glue of its bound operations). The engine never
// imports an app; cmd/contractgate hands the app's seam.App to the server.
package seam

import (
	"io/fs"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/binding"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// App is one app the engine serves.
type App struct {
	// Contracts holds the app's contracts: openapi.yaml (the public contract),
	// components.yaml (the shared envelope and error schemas it $refs) and
	// upstreams/<name>.yaml (one per upstream service: the upstream registry).
	Contracts fs.FS
	// Mount registers the app's operations on r, calling upstreams through deps. It is
	// called once per configuration generation (at start-up, then on every reload that
	// changes something, with a new r and deps): it must keep nothing from one call to the
	// next.
	Mount func(r Router, deps Deps) error
}

// Deps is what the engine gives an app's operations at start-up.
type Deps struct {
	// Upstreams holds the HTTP client of every upstream (policies, contract check, mock).
	Upstreams *upstream.Registry
	// Bindings holds what every operation bound with x-upstream needs per request (the
	// runtime of the generated glue in gen/bindings).
	Bindings *binding.Set
}

// Router is the route registration of Echo that oapi-codegen's RegisterHandlers takes
// (gen/gateway.EchoRouter).
type Router interface {
	CONNECT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	HEAD(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	OPTIONS(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
	TRACE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}
