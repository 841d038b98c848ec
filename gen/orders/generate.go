package orders

//go:generate go tool oapi-codegen -config ../../api/codegen/orders.yaml ../../api/upstreams/orders.yaml
