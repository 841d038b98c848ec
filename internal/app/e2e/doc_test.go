// Package e2e_test holds the storefront's end-to-end tests: HTTP in, HTTP out, against the
// assembled gateway serving the storefront in front of its real demo upstreams (package
// testenv), including the attack suite (attack_*_test.go). The engine's own tests stand on
// fixture contracts (internal/engine/...); these stay with the app.
package e2e_test
