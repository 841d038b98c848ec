package sdk

// The SDK is generated from the bundled contract (api/openapi.yaml with the shared
// components.yaml moved into it), so that it depends on nothing under internal/ and its
// types keep their names (sdk.Meta, sdk.ErrorEnvelope, ...).
//go:generate go run ../../cmd/speclint bundle -o ../openapi.bundled.yaml ../../api/openapi.yaml
//go:generate go tool oapi-codegen -config ../../api/codegen/sdk.yaml ../openapi.bundled.yaml
