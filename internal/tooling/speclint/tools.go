package speclint

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contractgate/contractgate/internal/engine/mcp"
	"github.com/contractgate/contractgate/internal/engine/routes"
)

// checkTools applies rule mcp-tool: every operation's x-mcp is a boolean, and one marked
// true can be served as an MCP tool, as the gateway builds it at start-up (package mcp) from
// the bundled contract.
func checkTools(bundled *openapi3.T) []Finding {
	var out []Finding
	for _, o := range operations(bundled) {
		op := &routes.Operation{ID: o.op.OperationID, Method: o.method, Path: o.path, PathItem: o.item, Op: o.op, Extensions: o.op.Extensions}
		if err := mcp.Check(bundled, op); err != nil {
			out = append(out, Finding{Rule: RuleMCPTool, Where: o.where(), Message: err.Error()})
		}
	}
	return out
}
