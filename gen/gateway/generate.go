package gateway

// The shared components (../../api/components.yaml) map to package internal/engine/components
// (import-mapping in api/codegen/gateway.yaml): no models are generated for them here.
//go:generate go tool oapi-codegen -config ../../api/codegen/gateway.yaml ../../api/openapi.yaml
