// Package devauth is a DEVELOPMENT-ONLY stand-in for authentication: it makes every request
// act as one configured demo user, so that the secured storefront operations can be tried
// before real credentials exist. Configuration refuses it when env is production.
package devauth

import (
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/config"
	"github.com/contractgate/contractgate/internal/identity"
)

// New returns a middleware that sets the configured development identity on every request,
// or a pass-through when cfg is disabled.
func New(cfg config.DevIdentity) (echo.MiddlewareFunc, error) {
	if !cfg.Enabled {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }, nil
	}
	if cfg.Subject == "" {
		return nil, errors.New("devauth: subject is required")
	}
	id := identity.Identity{Subject: cfg.Subject, Scopes: cfg.Scopes, Method: "development"}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			c.SetRequest(req.WithContext(identity.NewContext(req.Context(), id)))
			return next(c)
		}
	}, nil
}
