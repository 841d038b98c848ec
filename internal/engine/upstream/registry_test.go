package upstream_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/contractgate/contractgate/internal/engine/config"
	"github.com/contractgate/contractgate/internal/engine/upstream"
)

// pets is a minimal upstream contract with an example (mock mode answers from it).
const pets = `openapi: 3.1.0
info: {title: pets, version: 1.0.0}
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: string}}}
              example: {id: p1}
`

func contracts(t *testing.T, names ...string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, n := range names {
		fsys["upstreams/"+n+".yaml"] = &fstest.MapFile{Data: []byte(pets)}
	}
	return fsys
}

func TestRegistryFollowsTheContracts(t *testing.T) {
	docs, err := upstream.Contracts(contracts(t, "pets", "vets"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string
		cfg     map[string]config.Upstream
		wantErr []string // substrings; none: success
	}{
		{name: "every upstream configured", env: config.EnvProduction,
			cfg: map[string]config.Upstream{"pets": {BaseURL: "http://127.0.0.1:1"}, "vets": {BaseURL: "http://127.0.0.1:2"}}},
		{name: "no configuration at all in development: mocked", env: config.EnvDevelopment},
		{name: "a section without a contract", env: config.EnvDevelopment,
			cfg:     map[string]config.Upstream{"payments": {BaseURL: "http://127.0.0.1:1"}},
			wantErr: []string{"upstreams.payments: no upstream contract api/upstreams/payments.yaml (upstreams: pets, vets)"}},
		{name: "production without base URLs", env: config.EnvProduction,
			cfg:     map[string]config.Upstream{"pets": {BaseURL: "http://127.0.0.1:1"}},
			wantErr: []string{"upstreams.vets.baseURL: is required in production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]config.Upstream{}
			for n, u := range tt.cfg {
				u.SetDefaults()
				cfg[n] = u
			}
			reg, err := upstream.New(docs, cfg, tt.env, upstream.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("want an error, got none")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer reg.CloseIdleConnections()
			if got := strings.Join(reg.Names(), ","); got != "pets,vets" {
				t.Fatalf("Names() = %s", got)
			}
			if _, err := reg.Client("nope"); err == nil {
				t.Fatal("Client(unknown) succeeded")
			}
		})
	}
}

func TestUpstreamWithoutBaseURLAnswersFromExamples(t *testing.T) {
	docs, err := upstream.Contracts(contracts(t, "pets"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	reg, err := upstream.New(docs, nil, config.EnvDevelopment, upstream.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	c, err := reg.Client("pets")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, c.BaseURL+"/pets/p1", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"p1"`) {
		t.Fatalf("mock answered %d %s", resp.StatusCode, body)
	}
	if n := strings.Count(logs.String(), "upstream mocked"); n != 1 {
		t.Fatalf("mock mode logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestUpstreamNamesAreIdentifiers(t *testing.T) {
	for _, bad := range []string{"Pets", "pet-store", "9pets"} {
		if _, err := upstream.Contracts(contracts(t, bad)); err == nil || !strings.Contains(err.Error(), "upstreams/"+bad+".yaml") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
