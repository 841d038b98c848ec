// Command demo-orders serves the demo orders upstream (api/upstreams/orders.yaml) and its
// fault-injection admin API.
package main

import (
	"os"

	"github.com/contractgate/contractgate/internal/app/demo"
	"github.com/contractgate/contractgate/internal/app/demo/orders"
)

func main() {
	os.Exit(demo.Main("orders", "127.0.0.1:9102", "127.0.0.1:9112", orders.New().Register))
}
