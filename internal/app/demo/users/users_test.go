package users_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	usersapi "github.com/contractgate/contractgate/gen/users"
	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/users"
)

func TestGetUser(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(demo.NewEcho(demo.NewFaults(), users.New().Register))
	t.Cleanup(srv.Close)
	c, err := usersapi.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		want     *usersapi.User
		wantCode int
	}{
		{id: "alice", want: &usersapi.User{
			Id: "alice", DisplayName: "Alice Liddell", Email: "alice@example.com", Tier: usersapi.Gold,
			CreatedAt: time.Date(2024, time.March, 14, 9, 26, 53, 0, time.UTC),
		}},
		{id: "bob", want: &usersapi.User{
			Id: "bob", DisplayName: "Bob Builder", Email: "bob@example.com", Tier: usersapi.Standard,
			CreatedAt: time.Date(2024, time.July, 2, 16, 45, 0, 0, time.UTC),
		}},
		{id: "carol", wantCode: 404},
		{id: "Alice", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			resp, err := c.GetUserWithResponse(t.Context(), tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if got := resp.JSON200; got == nil || *got != *tt.want {
					t.Errorf("got %d %s, want %+v", resp.StatusCode(), resp.Body, *tt.want)
				}
				return
			}
			if resp.JSON404 == nil || *resp.JSON404 != (usersapi.Error{Code: "NOT_FOUND", Message: "user not found"}) {
				t.Errorf("got %d %s, want 404 NOT_FOUND", resp.StatusCode(), resp.Body)
			}
		})
	}
}

func TestUserLookup(t *testing.T) {
	t.Parallel()
	s := users.New()
	if u, ok := s.User(users.Alice); !ok || u.Tier != usersapi.Gold {
		t.Errorf("User(alice) = %+v, %v", u, ok)
	}
	if _, ok := s.User("nobody"); ok {
		t.Error("User(nobody) found a user")
	}
}

func TestCreateFeedback(t *testing.T) {
	t.Parallel()
	s := users.New()
	srv := httptest.NewServer(demo.NewEcho(demo.NewFaults(), s.Register))
	t.Cleanup(srv.Close)
	c, err := usersapi.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	comment := "lovely mug"
	key := "k-1"
	first, err := c.CreateFeedbackWithResponse(ctx, users.Alice, &usersapi.CreateFeedbackParams{IdempotencyKey: &key},
		usersapi.NewFeedback{Rating: 5, Comment: &comment})
	if err != nil {
		t.Fatal(err)
	}
	fb := first.JSON201
	if fb == nil || fb.UserId != users.Alice || fb.Rating != 5 || fb.Comment == nil || *fb.Comment != comment || fb.Id == "" {
		t.Fatalf("got %d %s", first.StatusCode(), first.Body)
	}
	again, err := c.CreateFeedbackWithResponse(ctx, users.Alice, &usersapi.CreateFeedbackParams{IdempotencyKey: &key},
		usersapi.NewFeedback{Rating: 5, Comment: &comment})
	if err != nil {
		t.Fatal(err)
	}
	if again.JSON201 == nil || again.JSON201.Id != fb.Id {
		t.Fatalf("repeat of the key: got %d %s, want feedback %s again", again.StatusCode(), again.Body, fb.Id)
	}
	other, err := c.CreateFeedbackWithResponse(ctx, users.Alice, nil, usersapi.NewFeedback{Rating: 1})
	if err != nil {
		t.Fatal(err)
	}
	if other.JSON201 == nil || other.JSON201.Id == fb.Id || other.JSON201.Comment != nil {
		t.Fatalf("without a key: got %d %s, want a new feedback", other.StatusCode(), other.Body)
	}
	for _, rating := range []int32{0, 6} {
		bad, err := c.CreateFeedbackWithResponse(ctx, users.Alice, nil, usersapi.NewFeedback{Rating: rating})
		if err != nil {
			t.Fatal(err)
		}
		if bad.JSON400 == nil || bad.JSON400.Code != "BAD_REQUEST" {
			t.Errorf("rating %d: got %d %s, want 400 BAD_REQUEST", rating, bad.StatusCode(), bad.Body)
		}
	}
	if got, ok := s.FeedbackByKey(key); !ok || got.Id != fb.Id {
		t.Errorf("FeedbackByKey(%q) = %+v, %v", key, got, ok)
	}
	if got := s.FeedbackCalls(); got != 5 {
		t.Errorf("FeedbackCalls() = %d, want 5", got)
	}
}

// TestFeedbackBounded: past 10000 feedbacks the oldest, and its Idempotency-Key, are
// forgotten.
func TestFeedbackBounded(t *testing.T) {
	t.Parallel()
	s := users.New()
	record := func(key string) string {
		t.Helper()
		res, err := s.CreateFeedback(t.Context(), usersapi.CreateFeedbackRequestObject{
			UserId: users.Bob, Params: usersapi.CreateFeedbackParams{IdempotencyKey: &key},
			Body: &usersapi.NewFeedback{Rating: 3},
		})
		if err != nil {
			t.Fatal(err)
		}
		fb, ok := res.(usersapi.CreateFeedback201JSONResponse)
		if !ok {
			t.Fatalf("got %T, want 201", res)
		}
		return fb.Id
	}
	firstID := record("k-0")
	for i := 1; i < 10_000; i++ {
		record(fmt.Sprintf("k-%d", i))
	}
	if _, ok := s.FeedbackByKey("k-0"); !ok {
		t.Fatal("k-0 forgotten before the store was full")
	}
	record("k-10000")
	if _, ok := s.FeedbackByKey("k-0"); ok {
		t.Fatal("k-0 still remembered past 10000 feedbacks")
	}
	if id := record("k-0"); id == firstID {
		t.Fatal("a forgotten key replayed its old feedback")
	}
	if _, ok := s.FeedbackByKey("k-1"); ok {
		t.Fatal("k-1 still remembered after two more feedbacks")
	}
}
