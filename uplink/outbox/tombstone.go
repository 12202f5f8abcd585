package outbox

import (
	"strings"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TombstonePayload is the marshalled tombstone of a ticket record (DESIGN
// §6): a payload that is not a ticket becomes a minimal tombstone built
// from the record's fields.
func TombstonePayload(r Record) ([]byte, error) {
	t, err := ticket.Parse(r.Payload)
	if err != nil || t.Schema != ticket.Schema {
		t = ticket.Ticket{Schema: ticket.Schema, EventID: r.EventID, TicketID: r.TicketID, Hazard: r.Hazard, Level: r.Level}
		t.Device.ID = r.Device
		if i := strings.Index(r.TicketID, "/"); i > 0 && t.Device.ID == "" {
			t.Device.ID = r.TicketID[:i]
		}
	}
	return ticket.Tombstone(t).Marshal()
}
