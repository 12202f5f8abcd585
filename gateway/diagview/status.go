package diagview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Status prints the gateway at a glance; it reports whether
// something is down (uplink or a device).
func Status(w io.Writer, s api.Status, loc *time.Location) (down bool) {
	var t table
	t.add("gateway", s.GatewayID)
	t.add("version", s.Version)
	t.add("uptime", fmt.Sprintf("%s (since %s)", seconds(s.UptimeS), Clock(s.StartedAt, loc)))
	link := "connected"
	if !s.Uplink.Connected {
		link = "NOT CONNECTED"
	}
	t.add("uplink", fmt.Sprintf("%s %s", link, s.Uplink.Broker))
	t.add("last publish", lastPublish(s, loc))
	uplinkDown := uplinkRows(&t, s.Uplinks, s.Now, loc) // uplinks.go: several uplinks only
	t.add("buffer", bufferLine(s.Buffer, loc))
	if b := s.Buffer; b.DroppedTickets+b.DroppedTelemetry > 0 {
		t.add("dropped", fmt.Sprintf("%d ticket events (tombstoned), %d telemetry", b.DroppedTickets, b.DroppedTelemetry))
	}
	if b := s.Buffer; b.StorageFault {
		t.add("storage", "FAILING: "+b.StorageError+" (events are published from memory and stored when the disk takes writes; docs/operations.md)")
	}
	if s.Buffer.Lost > 0 {
		t.add("lost", fmt.Sprintf("%d ticket events dropped without a tombstone during a storage fault", s.Buffer.Lost))
	}
	if s.Buffer.FallbackImported > 0 {
		t.add("fallback", fmt.Sprintf("%d events imported at start from the fallback file", s.Buffer.FallbackImported))
	}
	if s.Buffer.Uncommitted > 0 {
		t.add("uncommitted", fmt.Sprintf("%d events not yet committed to the outbox (check the disk and the log)", s.Buffer.Uncommitted))
	}
	t.add("outbox", s.Buffer.Path)
	devs := fmt.Sprintf("%d/%d online", s.Devices.Online, s.Devices.Total)
	if off := s.Devices.Total - s.Devices.Online; off > 0 {
		devs += fmt.Sprintf(" (%d offline: fenghuo diag devices)", off)
	}
	t.add("devices", devs)
	addConfig(&t, s.Config, loc) // reload.go
	t.write(w)
	return !s.Uplink.Connected || uplinkDown || s.Devices.Online < s.Devices.Total
}

func lastPublish(s api.Status, loc *time.Location) string {
	if s.Uplink.LastPublishAt.IsZero() {
		return "never (since start)"
	}
	return fmt.Sprintf("%s (%s)", Clock(s.Uplink.LastPublishAt, loc), ago(s.Now, s.Uplink.LastPublishAt))
}

func bufferLine(b api.BufferStatus, loc *time.Location) string {
	if b.Error != "" {
		return "cannot read the outbox: " + b.Error
	}
	line := fmt.Sprintf("%d unsent", b.Depth)
	if b.Depth > 0 {
		line += fmt.Sprintf(", oldest %s (%s old)", Clock(b.OldestUnsentAt, loc), seconds(b.OldestUnsentAgeS))
	}
	return line + fmt.Sprintf("; last seq %d, %d sent", b.LastSeq, b.Sent)
}

// Devices prints one row per device, then each device's last
// values; it reports whether a device is offline.
func Devices(w io.Writer, ds api.Devices, loc *time.Location) (offline bool) {
	var t table
	t.add("ID", "NAME", "BUS/SLAVE", "PROFILE", "STATE", "LAST POLL", "SUCCESS", "LATENCY", "LAST ERROR")
	for _, d := range ds.Devices {
		state := "online"
		switch {
		case !d.Seen:
			state = "not polled yet"
		case !d.Online:
			state, offline = "OFFLINE", true
		}
		t.add(d.ID, d.Name, fmt.Sprintf("%s/%d", d.Bus, d.Slave), d.Profile, state, ago(ds.Now, d.LastPoll),
			successRate(d), latency(d.LastLatencyMS), lastError(ds.Now, d))
	}
	t.write(w)
	for _, d := range ds.Devices {
		fmt.Fprintf(w, "\n%s %s", sanitize.Line(d.ID), sanitize.Line(d.Name))
		if d.Location != "" {
			fmt.Fprintf(w, " (%s)", sanitize.Line(d.Location))
		}
		if d.LastOK.IsZero() {
			fmt.Fprintln(w, ": no values yet")
			continue
		}
		fmt.Fprintf(w, ", values of %s:\n", Clock(d.LastOK, loc))
		var v table
		for _, x := range d.Values {
			val := number(x.Value)
			if x.Absent {
				val = "absent"
			}
			v.add("  "+x.Point, val, x.Unit)
		}
		v.write(w)
	}
	return offline
}

func successRate(d api.Device) string {
	if d.SuccessRate == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%% of %d", *d.SuccessRate*100, d.PollsOK+d.PollsFailed)
}

func lastError(now time.Time, d api.Device) string {
	if d.LastError == "" {
		return "—"
	}
	msg := truncate(d.LastError, 60)
	if !d.LastErrorAt.IsZero() {
		msg += " (" + ago(now, d.LastErrorAt) + ")"
	}
	return msg
}

// Alarms prints the open tickets, most urgent first as the daemon
// lists them.
func Alarms(w io.Writer, as api.Alarms, loc *time.Location) {
	if len(as.Alarms) == 0 {
		fmt.Fprintln(w, "no open alarms")
		return
	}
	var t table
	t.add("LEVEL", "SINCE", "FOR", "DEVICE", "NAME", "HAZARD", "RULE", "ACKNOWLEDGED", "TICKET")
	for _, a := range as.Alarms {
		ack := "no"
		if a.AckedBy != "" || !a.AckedAt.IsZero() {
			ack = fmt.Sprintf("%s at %s", orDash(a.AckedBy), Clock(a.AckedAt, loc))
		}
		t.add(levelName(a.Level), Clock(a.Since, loc), Age(as.Now.Sub(a.Since)), a.Device, a.DeviceName,
			strings.TrimSpace(a.LabelZh+" "+a.Hazard), a.Rule, ack, a.TicketID)
	}
	t.write(w)
}

// Queue prints the unsent records in sending order.
func Queue(w io.Writer, q api.Queue, loc *time.Location) {
	queueUplinks(w, q.Uplinks, loc) // uplinks.go: several uplinks only
	if q.Depth == 0 && len(q.Uplinks) > 1 {
		fmt.Fprintln(w, "queue empty: every uplink has delivered every event")
		return
	}
	if q.Depth == 0 {
		fmt.Fprintln(w, "queue empty: the broker has acknowledged every event")
		return
	}
	head := fmt.Sprintf("%d unsent, in sending order (level 1 first, then by seq)", q.Depth)
	if q.Truncated {
		head += fmt.Sprintf("; the first %d shown (--limit)", len(q.Items))
	}
	fmt.Fprintln(w, head)
	var t table
	t.add("SEQ", "STATE", "LEVEL", "HAZARD", "DEVICE", "CREATED", "AGE", "TICKET")
	for _, it := range q.Items {
		seq := fmt.Sprint(it.Seq)
		if it.State == "telemetry" {
			seq = "—"
		}
		t.add(seq, it.State, levelName(it.Level), orDash(it.Hazard), orDash(it.Device), Clock(it.CreatedAt, loc),
			seconds(it.AgeS), orDash(it.TicketID))
	}
	t.write(w)
}

// Rules prints the explain view: every rule on every device.
func Rules(w io.Writer, rs api.Rules) {
	var t table
	t.add("DEVICE", "RULE", "HAZARD", "PHASE", "FOR", "SAMPLES", "POINT", "VALUE", "LIMIT", "LEVEL", "NOTE")
	for _, r := range rs.Rules {
		dur := "—"
		if r.Phase != "inactive" {
			dur = seconds(r.ElapsedS)
		}
		note := ""
		if r.Frozen {
			note = "frozen: device offline"
		}
		if r.TicketID != "" {
			note = strings.TrimSpace(note + " ticket " + r.TicketID)
		}
		t.add(r.Device, r.Rule, r.Hazard, r.Phase, dur, fmt.Sprint(r.Samples), orDash(r.Point),
			optNumber(r.Value), optNumber(r.Threshold), fmt.Sprint(r.Level), orDash(note))
	}
	t.write(w)
}
