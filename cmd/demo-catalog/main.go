// Command demo-catalog serves the demo catalog upstream (api/upstreams/catalog.yaml) and its
// fault-injection admin API.
package main

import (
	"os"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/catalog"
)

func main() {
	os.Exit(demo.Main("catalog", "127.0.0.1:9101", "127.0.0.1:9111", catalog.New().Register))
}
