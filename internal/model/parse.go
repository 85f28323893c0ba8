package model

import (
	"encoding/json"
	"fmt"
)

// Parse decodes a document from YAML or JSON. It rejects unknown keys and
// values of the wrong shape; Validate checks the rest.
//
// TODO(model): strict YAML decoding with paths; this stub reads JSON only.
func Parse(data []byte) (*Document, error) {
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse document: %w", err)
	}
	return &doc, nil
}

// Validate checks a parsed document against DESIGN §2 and reports every
// problem with its path.
//
// TODO(model): implement.
func Validate(doc *Document) error { return nil }
