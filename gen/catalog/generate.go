package catalog

//go:generate go tool oapi-codegen -config ../../api/codegen/catalog.yaml ../../api/upstreams/catalog.yaml
