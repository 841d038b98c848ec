package faults_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/contractgate/contractgate/internal/engine/resilience"
)

// answer returns an answerFunc writing status, content type and body.
func answer(status int, contentType, body string) answerFunc {
	return func(c echo.Context, _ echo.HandlerFunc) error {
		return c.Blob(status, contentType, []byte(body))
	}
}

// A product the Go client decodes, but outside the catalog contract (negative price).
const negativePrice = `{"id":"prd_0001","name":"Mug","description":"d","category":"kitchen","priceCents":-5,"currency":"USD","stock":3}`

// negativeStock breaks the catalog's contract (stock >= 0) in a property the public Product
// does not declare: getProduct is bound, so the projection drops it.
const negativeStock = `{"id":"prd_0001","name":"Mug","description":"d","category":"kitchen","priceCents":5,"currency":"USD","stock":-3,"inStock":true}`

func TestUpstreamContractIsEnforced(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc   string
		answer answerFunc
	}{
		{"malformed JSON", answer(200, "application/json", `{"id":"prd_0001","name":`)},
		{"trailing data", answer(200, "application/json", `{"id":"prd_0001"} {"id":"x"}`)},
		{"wrong type", answer(200, "application/json", `{"id":1,"name":"Mug","description":"d","category":"k","priceCents":"12","currency":"USD","stock":3}`)},
		{"missing required member", answer(200, "application/json", `{"id":"prd_0001","name":"Mug"}`)},
		{"out of range", answer(200, "application/json", negativePrice)},
		{"not JSON", answer(200, "text/html", `<html>oops</html>`)},
		{"undeclared status", answer(http.StatusTeapot, "application/json", `{"code":"TEAPOT","message":"short and stout"}`)},
		{"error body outside the contract", answer(404, "application/json", `{"error":"no such thing"}`)},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil) // it counts attempts: the violation itself is not retried
			h.catalog.setAnswer(c.answer)
			r := h.do(http.MethodGet, productPath, "")
			r.expect(t, http.StatusBadGateway, "UPSTREAM_CONTRACT_VIOLATION")
			r.noLeak(t)
			for _, s := range []string{"Mug", "oops", "TEAPOT", "no such thing", "prd_0001"} {
				if strings.Contains(string(r.body), s) {
					t.Fatalf("response leaks the upstream body (%q): %s", s, r.body)
				}
			}
			if n := h.catalog.count(productGET); n != 1 {
				t.Fatalf("upstream saw %d attempts, want 1 (a contract violation is not retried)", n)
			}
			if s := h.clients.States()["catalog"]; s != "closed" {
				t.Fatalf("circuit %s", s)
			}
		})
	}
}

func TestContractModes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode   string
		logged bool
	}{
		{resilience.ContractLog, true},
		{resilience.ContractOff, false},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			p := fast()
			p.Contract = c.mode
			h := newHarness(t, map[string]resilience.Config{"catalog": p})
			h.catalog.setAnswer(answer(200, "application/json", negativeStock))
			h.do(http.MethodGet, productPath, "").expect(t, http.StatusOK, "")
			logs := h.logs.String()
			if got := strings.Contains(logs, "upstream answered outside its contract"); got != c.logged {
				t.Fatalf("violation logged = %v, want %v:\n%s", got, c.logged, logs)
			}
			if strings.Contains(logs, "Mug") {
				t.Fatalf("the log carries the upstream body:\n%s", logs)
			}
			// The public contract is enforced in every mode: a negative price never leaves
			// the gateway (the bound operation validates what it projects).
			h.catalog.setAnswer(answer(200, "application/json", negativePrice))
			h.do(http.MethodGet, productPath, "").expect(t, http.StatusBadGateway, "UPSTREAM_CONTRACT_VIOLATION")
			// Malformed JSON still cannot be decoded: a contract violation in every mode.
			h.catalog.setAnswer(answer(200, "application/json", `{"id":`))
			h.do(http.MethodGet, productPath, "").expect(t, http.StatusBadGateway, "UPSTREAM_CONTRACT_VIOLATION")
		})
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	p := fast()
	p.MaxResponseBytes = 4096
	h := newHarness(t, map[string]resilience.Config{"catalog": p})
	h.do(http.MethodGet, "/v1/products?pageSize=5", "").expect(t, http.StatusOK, "") // about 1.5 KB
	r := h.do(http.MethodGet, "/v1/products?pageSize=50", "")                        // about 15 KB
	r.expect(t, http.StatusBadGateway, "UPSTREAM_CONTRACT_VIOLATION")
	if n := h.catalog.count(listGET); n != 2 {
		t.Fatalf("upstream saw %d calls, want 2 (an oversized body is not retried)", n)
	}
	// Announced or not: a chunked body is capped while it is read.
	h.catalog.setAnswer(func(c echo.Context, _ echo.HandlerFunc) error {
		w := c.Response()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Flush() // no Content-Length: chunked
		_, _ = w.Write([]byte(`{"items":[],"total":0,"pad":"` + strings.Repeat("x", 8192) + `"}`))
		return nil
	})
	h.do(http.MethodGet, "/v1/products", "").expect(t, http.StatusBadGateway, "UPSTREAM_CONTRACT_VIOLATION")
}
