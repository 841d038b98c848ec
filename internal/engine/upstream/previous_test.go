package upstream_test

import (
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// TestWithPreviousCarriesOverUnchangedUpstreams: a registry built WithPrevious keeps the client
// (its policies: breaker, bulkhead; its connections) of every upstream whose settings are
// equal, and builds anew the one whose section changed.
func TestWithPreviousCarriesOverUnchangedUpstreams(t *testing.T) {
	docs, err := upstream.Contracts(contracts(t, "pets", "vets"))
	if err != nil {
		t.Fatal(err)
	}
	section := func(url string, timeout time.Duration) config.Upstream {
		u := config.Upstream{BaseURL: url}
		u.Timeout = timeout
		u.SetDefaults()
		return u
	}
	first := map[string]config.Upstream{"pets": section("http://127.0.0.1:1", time.Second), "vets": section("http://127.0.0.1:2", time.Second)}
	prev, err := upstream.New(docs, first, config.EnvDevelopment)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc       string
		pets, vets config.Upstream
		samePets   bool
		sameVets   bool
	}{
		{desc: "nothing changed", pets: first["pets"], vets: first["vets"], samePets: true, sameVets: true},
		{desc: "a base URL changed", pets: section("http://127.0.0.1:3", time.Second), vets: first["vets"], sameVets: true},
		{desc: "a policy changed", pets: first["pets"], vets: section("http://127.0.0.1:2", 2*time.Second), samePets: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			next, err := upstream.New(docs, map[string]config.Upstream{"pets": tc.pets, "vets": tc.vets}, config.EnvDevelopment, upstream.WithPrevious(prev))
			if err != nil {
				t.Fatal(err)
			}
			defer next.ReleaseReplaced(prev)
			for name, same := range map[string]bool{"pets": tc.samePets, "vets": tc.sameVets} {
				a, _ := prev.Client(name)
				b, _ := next.Client(name)
				if (a.HTTP == b.HTTP) != same {
					t.Errorf("%s: carried over %v, want %v", name, a.HTTP == b.HTTP, same)
				}
			}
			if c, _ := next.Client("pets"); c.BaseURL != tc.pets.BaseURL {
				t.Errorf("pets base URL %q, want %q", c.BaseURL, tc.pets.BaseURL)
			}
		})
	}
}
