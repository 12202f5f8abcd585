package ticket_test

import (
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestGatewayAsDevice: an R25 event of the gateway pseudo-device becomes a
// schema-valid ticket whose device is the gateway, whose ticket_id has the
// usual four parts, and whose id is not prefixed again once restored.
func TestGatewayAsDevice(t *testing.T) {
	v := mqtttest.NewValidator(t)
	_, _, gw, _ := sampleEvent()
	info, _ := rules.LookupHazard("uplink_transmission_fault")
	meta := ticket.HazardMeta{Code: info.Code, Zh: info.Zh, En: info.En, Kind: info.Kind, Category: info.Category}
	ev := rules.Event{Kind: rules.Open, Device: gw.ID, Rule: rules.TransmissionRule, Hazard: info.Code, Level: 3,
		TicketID: gw.ID + "/R25/20261129T001502.000", At: time.Date(2026, 11, 29, 0, 15, 2, 0, time.UTC),
		Evidence: rules.Evidence{Point: rules.TransmissionFaultPoint, Value: f(1)}}
	dev := ticket.GatewayDevice(gw)
	open := ticket.FromEvent(ev, meta, gw, dev)
	v.ValidateTicket(t, stamped(t, open, 4))
	want := gw.ID + "/" + gw.ID + "/R25/20261129T001502.000"
	if open.TicketID != want {
		t.Fatalf("ticket_id %s, want %s", open.TicketID, want)
	}
	if open.Device.ID != gw.ID || open.Device.Profile != ticket.GatewayProfile || open.Category != "gateway" ||
		open.GBT45839Status != 3 || open.NoticeTypeZh != "故障信息" {
		t.Fatalf("gateway ticket: device %+v category %s status %d notice %s", open.Device, open.Category, open.GBT45839Status, open.NoticeTypeZh)
	}
	ev.Kind, ev.TicketID = rules.Clear, open.TicketID // restored from the outbox after a restart
	clr := ticket.FromEvent(ev, meta, gw, dev)
	v.ValidateTicket(t, stamped(t, clr, 5))
	if clr.TicketID != want || clr.NoticeTypeZh != "故障恢复信息" {
		t.Fatalf("restored clear: ticket_id %s notice %s, want %s 故障恢复信息", clr.TicketID, clr.NoticeTypeZh, want)
	}
}

func TestTicketIDForms(t *testing.T) {
	for _, c := range []struct{ gw, dev, episode, want string }{
		{"gw-1", "sd-1", "sd-1/R1/T", "gw-1/sd-1/R1/T"},
		{"gw-1", "sd-1", "gw-1/sd-1/R1/T", "gw-1/sd-1/R1/T"},
		{"gw-1", "gw-1", "gw-1/R25/T", "gw-1/gw-1/R25/T"},
		{"gw-1", "gw-1", "gw-1/gw-1/R25/T", "gw-1/gw-1/R25/T"},
		{"gw-1", "", "gw-1/sd-1/R1/T", "gw-1/sd-1/R1/T"},
		{"", "sd-1", "sd-1/R1/T", "sd-1/R1/T"},
	} {
		if got := ticket.TicketID(c.gw, c.dev, c.episode); got != c.want {
			t.Errorf("TicketID(%q, %q, %q) = %q, want %q", c.gw, c.dev, c.episode, got, c.want)
		}
	}
}
