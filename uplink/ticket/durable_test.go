package ticket

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMarkNotDurable(t *testing.T) {
	tk := Ticket{Schema: Schema, EventID: "01JDZ9Q1H7C3T0S8V5R2M4K6PA", TicketID: "gw/d/R1/x", State: "open", Hazard: "smoke_fire_alarm", Level: 1}
	p, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := Stamp(p, 7, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarkNotDurable(st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := MarkNotDurable(out)
	if err != nil || string(again) != string(out) {
		t.Fatalf("second mark changed the payload: %s, %v", again, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if m["durable"] != false || m["seq"] != float64(7) {
		t.Fatalf("durable %v seq %v in %s", m["durable"], m["seq"], out)
	}
	if _, err := MarkNotDurable([]byte("[1]")); err == nil {
		t.Fatal("a JSON array was marked")
	}
	if out, _ := MarkNotDurable([]byte("{}")); string(out) != `{"durable":false}` {
		t.Fatalf("{} → %s", out)
	}
}
