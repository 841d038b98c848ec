package users

//go:generate go tool oapi-codegen -config ../../api/codegen/users.yaml ../../api/upstreams/users.yaml
