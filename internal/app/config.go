package app

import _ "embed"

// Config is the storefront's default configuration (internal/app/config.yaml): the demo
// upstreams' addresses and policies, demo credentials (development only), rate limits. The
// gateway uses it when no config file is given.
//
//go:embed config.yaml
var Config []byte
