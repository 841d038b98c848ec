// Package users is the demo users upstream: two fixed user profiles, served through the generated strict server of api/upstreams/users.yaml.
package users

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	usersapi "github.com/contractgate/contractgate/gen/users"
)

// The ids of the demo users.
const (
	// Alice is the id of Alice Liddell, a gold-tier user.
	Alice = "alice"
	// Bob is the id of Bob Builder, a standard-tier user.
	Bob = "bob"
)

// Service implements the users contract over a fixed, read-only set of users.
// It is safe for concurrent use.
type Service struct {
	users map[string]usersapi.User
}

var _ usersapi.StrictServerInterface = (*Service)(nil)

// New returns the users service with the users alice and bob.
func New() *Service {
	return &Service{users: map[string]usersapi.User{
		Alice: {
			Id: Alice, DisplayName: "Alice Liddell", Email: "alice@example.com", Tier: usersapi.Gold,
			CreatedAt: time.Date(2024, time.March, 14, 9, 26, 53, 0, time.UTC),
		},
		Bob: {
			Id: Bob, DisplayName: "Bob Builder", Email: "bob@example.com", Tier: usersapi.Standard,
			CreatedAt: time.Date(2024, time.July, 2, 16, 45, 0, 0, time.UTC),
		},
	}}
}

// Register adds the users routes to e, through the generated strict handler.
func (s *Service) Register(e *echo.Echo) {
	usersapi.RegisterHandlers(e, usersapi.NewStrictHandler(s, nil))
}

// User returns the user with the given id.
func (s *Service) User(id string) (usersapi.User, bool) {
	u, ok := s.users[id]
	return u, ok
}

// GetUser returns one user's profile, or 404 NOT_FOUND.
func (s *Service) GetUser(_ context.Context, req usersapi.GetUserRequestObject) (usersapi.GetUserResponseObject, error) {
	u, ok := s.User(req.UserId)
	if !ok {
		return usersapi.GetUser404JSONResponse{ErrorJSONResponse: usersapi.ErrorJSONResponse{
			Code: "NOT_FOUND", Message: "user not found",
		}}, nil
	}
	return usersapi.GetUser200JSONResponse(u), nil
}
