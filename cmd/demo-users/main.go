// Command demo-users serves the demo users upstream (api/upstreams/users.yaml) and its
// fault-injection admin API.
package main

import (
	"os"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/users"
)

func main() {
	os.Exit(demo.Main("users", "127.0.0.1:9103", "127.0.0.1:9113", users.New().Register))
}
