package serve

import (
	"bytes"
	_ "embed" // the ticket contract's schema
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaJSON is a copy of docs/ticket.schema.json (go:embed cannot reach
// ../); TestSchemaCopy fails when the two differ.
//
//go:embed ticket.schema.json
var schemaJSON []byte

// validator checks tickets and statuses against the contract.
type validator struct {
	ticket, status *jsonschema.Schema
}

func newValidator() (*validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("ticket schema: %w", err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("ticket schema: %w", err)
	}
	var v validator
	if v.ticket, err = c.Compile(id + "#/$defs/ticket"); err != nil {
		return nil, fmt.Errorf("ticket schema: %w", err)
	}
	if v.status, err = c.Compile(id + "#/$defs/status"); err != nil {
		return nil, fmt.Errorf("ticket schema: %w", err)
	}
	return &v, nil
}

// check validates payload with s; the error says why it does not match.
func check(s *jsonschema.Schema, payload []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("does not match docs/ticket.schema.json: %w", err)
	}
	return nil
}
