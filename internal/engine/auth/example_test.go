package auth_test

import (
	"fmt"
	"strings"

	"github.com/contractgate/contractgate/internal/engine/auth"
)

// The value to configure as apiKeys[].sha256 for a key; the key itself is never configured.
func ExampleHashAPIKey() {
	fmt.Println(auth.HashAPIKey("demo-key-alice-0123456789abcdef"))
	// Output: dc275ab1c4bc17899cdfff16563da508be4c9275589ce936577f52f0512f22bb
}

// A development token, as `contractgate token` prints it.
func ExampleIssueDevToken() {
	cfg := auth.Config{
		JWT: auth.JWT{
			HMACKeys: []auth.HMACKey{{KID: "dev", Secret: auth.DevHMACSecret}},
			Issuer:   "contractgate-dev",
			Audience: "storefront",
		},
		DevToken: auth.DevToken{Enabled: true},
	}
	cfg.SetDefaults() // config.Load does this for the gateway's configuration
	token, err := auth.IssueDevToken(cfg, "alice", []string{"orders:read", "orders:write"}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.Count(token, "."), "dots, header", strings.Split(token, ".")[0])
	// Output: 2 dots, header eyJhbGciOiJIUzI1NiIsImtpZCI6ImRldiIsInR5cCI6IkpXVCJ9
}
