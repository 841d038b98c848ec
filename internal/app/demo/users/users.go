// Package users is the demo users upstream: two fixed user profiles and the feedback users
// send (in memory, bounded), served through the generated strict server of
// api/upstreams/users.yaml.
package users

import (
	"context"
	"fmt"
	"sync"
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

// Service implements the users contract over a fixed, read-only set of users and an
// in-memory, bounded store of feedback. It is safe for concurrent use.
type Service struct {
	users map[string]usersapi.User
	now   func() time.Time

	mu sync.Mutex
	// feedback holds the recorded feedback oldest first, at most maxFeedback; byKey maps an
	// Idempotency-Key to the feedback it recorded (the oldest are forgotten with it).
	feedback []recorded
	byKey    map[string]usersapi.Feedback
	seq      int
	calls    int
}

// recorded is one feedback and the Idempotency-Key that recorded it ("" without one).
type recorded struct {
	key string
	fb  usersapi.Feedback
}

// maxFeedback bounds the feedback (and so the Idempotency-Keys) the demo remembers.
const maxFeedback = 10_000

var _ usersapi.StrictServerInterface = (*Service)(nil)

// New returns the users service with the users alice and bob.
func New() *Service {
	return &Service{now: time.Now, byKey: map[string]usersapi.Feedback{}, users: map[string]usersapi.User{
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

// CreateFeedback records a user's feedback (any user id: the service trusts its caller, the
// gateway, to have authenticated the user), or answers 400 BAD_REQUEST for a rating outside
// 1..5 or a comment over 1000 characters. With an Idempotency-Key, a repeat of the key
// answers the feedback the key recorded first instead of recording another.
func (s *Service) CreateFeedback(_ context.Context, req usersapi.CreateFeedbackRequestObject) (usersapi.CreateFeedbackResponseObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	body := req.Body
	if body == nil || body.Rating < 1 || body.Rating > 5 || (body.Comment != nil && len([]rune(*body.Comment)) > 1000) {
		return usersapi.CreateFeedback400JSONResponse{ErrorJSONResponse: usersapi.ErrorJSONResponse{
			Code: "BAD_REQUEST", Message: "rating must be 1 to 5, comment at most 1000 characters",
		}}, nil
	}
	var key string
	if k := req.Params.IdempotencyKey; k != nil {
		key = *k
		if first, ok := s.byKey[key]; ok {
			return usersapi.CreateFeedback201JSONResponse(cloneFeedback(first)), nil
		}
	}
	s.seq++
	fb := usersapi.Feedback{
		Id: fmt.Sprintf("fb_%06d", s.seq), UserId: req.UserId, Rating: body.Rating,
		CreatedAt: s.now().UTC(),
	}
	if body.Comment != nil {
		c := *body.Comment
		fb.Comment = &c
	}
	if len(s.feedback) >= maxFeedback {
		if old := s.feedback[0]; old.key != "" {
			delete(s.byKey, old.key)
		}
		s.feedback = s.feedback[1:]
	}
	s.feedback = append(s.feedback, recorded{key: key, fb: fb})
	if key != "" {
		s.byKey[key] = fb
	}
	return usersapi.CreateFeedback201JSONResponse(cloneFeedback(fb)), nil
}

// FeedbackByKey returns the feedback recorded with the Idempotency-Key key, as the service
// received the key.
func (s *Service) FeedbackByKey(key string) (usersapi.Feedback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fb, ok := s.byKey[key]
	return cloneFeedback(fb), ok
}

// FeedbackCalls returns how many createFeedback requests reached the service, repeats and
// rejected ones included.
func (s *Service) FeedbackCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func cloneFeedback(fb usersapi.Feedback) usersapi.Feedback {
	if fb.Comment != nil {
		c := *fb.Comment
		fb.Comment = &c
	}
	return fb
}
