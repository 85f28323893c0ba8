// Package openapi embeds the OpenAPI document generated from the protos.
package openapi

import _ "embed"

// JSON is the OpenAPI (Swagger 2.0) document of the REST API.
//
//go:embed switchyard.swagger.json
var JSON []byte
