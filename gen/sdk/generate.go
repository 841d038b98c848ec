package sdk

//go:generate go tool oapi-codegen -config ../../api/codegen/sdk.yaml ../../api/openapi.yaml
