package clienturl_test

import (
	"fmt"

	"github.com/contractgate/contractgate/internal/engine/clienturl"
)

// A client computes its server's prefix once, then joins each operation's path to it; a path
// the stock resolution would rewrite (here a ".." segment) gives "", and the client takes the
// stock way for that call.
func Example() {
	prefix := clienturl.ServerPrefix("http://catalog.internal:8080/v2/")
	fmt.Println(prefix)
	fmt.Println(clienturl.JoinPath(prefix, "/products/%s", "prd_0001"))
	fmt.Printf("%q\n", clienturl.JoinPath(prefix, "/products/%s", ".."))
	fmt.Println(clienturl.WithQuery(clienturl.JoinPath(prefix, "/products"), []string{"ids=prd_0001", "limit=1"}))
	// Output:
	// http://catalog.internal:8080/v2/
	// http://catalog.internal:8080/v2/products/prd_0001
	// ""
	// http://catalog.internal:8080/v2/products?ids=prd_0001&limit=1
}
