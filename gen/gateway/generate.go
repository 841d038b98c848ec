package gateway

//go:generate go tool oapi-codegen -config ../../api/codegen/gateway.yaml ../../api/openapi.yaml
