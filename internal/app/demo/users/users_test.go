package users_test

import (
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
