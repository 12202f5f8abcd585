package ticket_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

// TestDocExamplesValidate: every JSON example in docs/tickets.md matches
// docs/ticket.schema.json, so the prose and the schema cannot drift apart.
func TestDocExamplesValidate(t *testing.T) {
	doc, err := os.ReadFile("../../docs/tickets.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d JSON examples in docs/tickets.md, want the ticket and the status", len(blocks))
	}
	v := mqtttest.NewValidator(t)
	for _, b := range blocks {
		v.Validate(t, b[1])
	}
}
