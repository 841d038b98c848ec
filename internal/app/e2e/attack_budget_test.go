package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contractgate/contractgate/internal/app/testenv"
	"github.com/contractgate/contractgate/internal/engine/config"
)

// TestAttackParallelLargeBodies: hostile bodies sent in parallel cannot multiply what
// decoding costs (issue 13, item 1 under concurrency: one client with 64 connections
// sending 1 MiB bodies took the gateway from 33 MiB to 1 GiB). With room for about two such
// bodies (validation.maxBodyBytesInFlight), 16 in parallel are each answered in the
// envelope: judged (422, or 400 for the shapes refused while parsing) or, past the budget,
// 503 UPSTREAM_OVERLOADED with Retry-After. Which of them wait is up to the scheduler; the
// budget's own arithmetic and its 503 are tested in internal/engine/validation (TestBodyBudget).
func TestAttackParallelLargeBodies(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, func(c *config.Config) {
		c.RateLimit.Disabled = true
		c.Validation.MaxBodyBytesInFlight = 2 * c.Server.BodyLimit
		c.Validation.BodyWait = time.Millisecond
	})
	const parallel = 16
	var wg sync.WaitGroup
	results := make(chan *testenv.Response, parallel)
	failures := make(chan error, parallel)
	for i := range parallel {
		body := hostileBodies[i%len(hostileBodies)].body()
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, env.URL+"/v1/orders", strings.NewReader(body))
			if err != nil {
				failures <- err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-Key", testenv.AliceKey)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("parallel-%d", i))
			res, err := env.Client.Do(req)
			if err != nil {
				failures <- err
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				failures <- err
				return
			}
			results <- &testenv.Response{Status: res.StatusCode, Header: res.Header, Body: b}
		})
	}
	wg.Wait()
	close(results)
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	for res := range results {
		code, _ := res.JSON(t)["error"].(map[string]any)["code"].(string)
		switch {
		case res.Status == http.StatusUnprocessableEntity && code == "VALIDATION_FAILED":
		case res.Status == http.StatusBadRequest && code == "MALFORMED_JSON":
		case res.Status == http.StatusServiceUnavailable && code == "UPSTREAM_OVERLOADED" && res.Header.Get("Retry-After") != "":
		default:
			t.Errorf("%d %v %.300s", res.Status, res.Header, res.Body)
		}
	}
}
