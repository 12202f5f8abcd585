package mqtttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaFile is the contract's JSON Schema, relative to the module root.
const SchemaFile = "docs/ticket.schema.json"

// Validator checks payloads against docs/ticket.schema.json.
type Validator struct {
	any, ticket, status, telemetry, health *jsonschema.Schema
}

var (
	compileOnce sync.Once
	compiled    *Validator
	compileErr  error
)

// NewValidator compiles the schema (once per test binary), found by walking
// up from the working directory to the directory holding go.mod.
func NewValidator(t testing.TB) *Validator {
	t.Helper()
	compileOnce.Do(func() { compiled, compileErr = compile() })
	if compileErr != nil {
		t.Fatalf("mqtttest: %v", compileErr)
	}
	return compiled
}

// Validate checks a ticket or status payload (by its schema field).
func (v *Validator) Validate(t testing.TB, payload []byte) {
	t.Helper()
	check(t, v.any, "message", payload)
}

// ValidateTicket checks a fenghuo.ticket.v1 payload.
func (v *Validator) ValidateTicket(t testing.TB, payload []byte) {
	t.Helper()
	check(t, v.ticket, "ticket", payload)
}

// ValidateStatus checks a fenghuo.status.v1 payload.
func (v *Validator) ValidateStatus(t testing.TB, payload []byte) {
	t.Helper()
	check(t, v.status, "status", payload)
}

// ValidateTelemetry checks a fenghuo.telemetry.v1 payload.
func (v *Validator) ValidateTelemetry(t testing.TB, payload []byte) {
	t.Helper()
	check(t, v.telemetry, "telemetry", payload)
}

// ValidateHealth checks a fenghuo.health.v1 payload.
func (v *Validator) ValidateHealth(t testing.TB, payload []byte) {
	t.Helper()
	check(t, v.health, "health", payload)
}

// ValidateTicket checks a ticket payload with the shared validator.
func ValidateTicket(t testing.TB, payload []byte) {
	t.Helper()
	NewValidator(t).ValidateTicket(t, payload)
}

// ValidateStatus checks a status payload with the shared validator.
func ValidateStatus(t testing.TB, payload []byte) {
	t.Helper()
	NewValidator(t).ValidateStatus(t, payload)
}

// Check returns the validation error of payload against the whole schema,
// for tests that expect a payload to be rejected.
func (v *Validator) Check(payload []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	return v.any.Validate(doc)
}

func check(t testing.TB, s *jsonschema.Schema, what string, payload []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("mqtttest: %s is not JSON: %v\n%s", what, err, payload)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("mqtttest: %s does not match %s: %v\n%s", what, SchemaFile, err, payload)
	}
}

func compile() (*Validator, error) {
	path, err := findSchema()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	id, _ := doc.(map[string]any)["$id"].(string)
	if id == "" {
		return nil, fmt.Errorf("%s: no $id", path)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var v Validator
	for _, x := range []struct {
		dst **jsonschema.Schema
		ref string
	}{{&v.any, id}, {&v.ticket, id + "#/$defs/ticket"}, {&v.status, id + "#/$defs/status"}, {&v.telemetry, id + "#/$defs/telemetry"}, {&v.health, id + "#/$defs/health"}} {
		if *x.dst, err = c.Compile(x.ref); err != nil {
			return nil, fmt.Errorf("%s: compile %s: %w", path, x.ref, err)
		}
	}
	return &v, nil
}

// findSchema walks up from the working directory to go.mod.
func findSchema() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, SchemaFile), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; cannot locate " + SchemaFile)
		}
		dir = parent
	}
}
