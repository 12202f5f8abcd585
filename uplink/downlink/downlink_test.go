package downlink

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	for in, want := range map[string]Command{
		`{"id":"1","cmd":"ack","ticket_id":"smoke-1/R1/x","by":"张三"}`: {ID: "1", Cmd: "ack", TicketID: "smoke-1/R1/x", By: "张三"},
		`{"id":"2","cmd":"ping"}`:               {ID: "2", Cmd: "ping"},
		`{"id":"3","cmd":"diag","extra":[1,2]}`: {ID: "3", Cmd: "diag"},
	} {
		got, err := Parse([]byte(in))
		if err != nil || got != want {
			t.Errorf("Parse(%s) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in, field, reason, id string
	}{
		{`not json`, "", "not a JSON object", ""},
		{`[1,2]`, "", "not a JSON object", ""},
		{`null`, "", "not a JSON object", ""},
		{`{"cmd":"ping"}`, "id", "required", ""},
		{`{"id":"","cmd":"ping"}`, "id", "required", ""},
		{`{"id":7,"cmd":"ping"}`, "id", "must be a string", ""},
		{`{"id":"a"}`, "cmd", "required", "a"},
		{`{"id":"a","cmd":true}`, "cmd", "must be a string", "a"},
		{`{"id":"a","cmd":"reboot"}`, "cmd", "unknown command", "a"},
		{`{"id":"a","cmd":"ack","by":"x"}`, "ticket_id", "required", "a"},
		{`{"id":"a","cmd":"ack","ticket_id":"t"}`, "by", "required", "a"},
		{`{"id":"a","cmd":"ack","ticket_id":{},"by":"x"}`, "ticket_id", "must be a string", "a"},
		{`{"id":"a","cmd":"ping","by":"` + strings.Repeat("x", MaxField+1) + `"}`, "by", "longer than", "a"},
		{"{\"id\":\"a\xff\",\"cmd\":\"ping\"}", "", "UTF-8", ""},
	} {
		got, err := Parse([]byte(c.in))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%.40s): err %v, want *Error", c.in, err)
			continue
		}
		if e.Field != c.field || !strings.Contains(e.Error(), c.reason) {
			t.Errorf("Parse(%.40s): %v (field %q), want field %q and %q", c.in, err, e.Field, c.field, c.reason)
		}
		if got.ID != c.id {
			t.Errorf("Parse(%.40s): id %q, want %q for the error reply", c.in, got.ID, c.id)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	big := `{"id":"a","cmd":"ping","pad":"` + strings.Repeat("x", MaxSize) + `"}`
	if _, err := Parse([]byte(big)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
}

// TestParseConfigSize: a config command may carry up to MaxConfigSize of
// YAML; any other command stays under MaxSize, and no command exceeds
// MaxPayload.
func TestParseConfigSize(t *testing.T) {
	yaml := strings.Repeat("#", MaxConfigSize-1) + "\n"
	c, err := Parse([]byte(`{"id":"c","cmd":"config","config":"` + strings.ReplaceAll(yaml, "\n", `\n`) + `"}`))
	if err != nil || c.Config != yaml {
		t.Fatalf("config of %d bytes: %v", len(yaml), err)
	}
	for _, in := range []string{
		`{"id":"c","cmd":"config","config":"` + strings.Repeat("x", MaxConfigSize+1) + `"}`,
		`{"id":"c","cmd":"diag","config":"` + strings.Repeat("x", MaxSize) + `"}`,
		`{"id":"c","cmd":"config","config":"x","pad":"` + strings.Repeat("x", MaxPayload) + `"}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse of %d bytes (%.40s…) accepted", len(in), in)
		}
	}
}

func TestReplyRoundTrip(t *testing.T) {
	p, err := Fail("x", errors.New("boom")).Marshal()
	if err != nil || string(p) != `{"id":"x","ok":false,"error":"boom"}` {
		t.Fatalf("%s %v", p, err)
	}
	r, err := ParseReply(p)
	if err != nil || r.OK || r.Error != "boom" {
		t.Fatalf("%+v %v", r, err)
	}
}

// FuzzDownlink: Parse never panics, and an accepted command survives a
// marshal/parse round trip unchanged.
func FuzzDownlink(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","cmd":"ack","ticket_id":"t","by":"b"}`, `{"id":"2","cmd":"ping"}`, `{"id":"3","cmd":"diag"}`, `{"id":"4","cmd":"config","config":"gateway: {id: gw-1}\n"}`,
		`{"id":1}`, `{}`, `null`, `"x"`, ``, `{"id":"a","cmd":"ack","ticket_id":null,"by":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *Error", err)
			}
			return
		}
		p, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(p)
		if err != nil || back != c {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", c, p, back, err)
		}
	})
}
