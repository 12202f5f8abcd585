package diagview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Several uplinks (uplink.gb26875 configured): `diag status` adds one row
// per uplink and `diag queue` one line per uplink's backlog. With the MQTT
// link alone the output is as it always was.

// uplinkRows adds a row per uplink to a status table; it reports whether
// one is not connected.
func uplinkRows(t *table, us []api.UplinkState, now time.Time, loc *time.Location) (down bool) {
	if len(us) < 2 {
		return false
	}
	for _, u := range us {
		t.add("uplink "+sanitize.Line(u.Name), uplinkLine(u, now, loc))
		down = down || !u.Connected
	}
	return down
}

// uplinkLine is one uplink at a glance: link, backlog, last delivery,
// clock offset, R25.
func uplinkLine(u api.UplinkState, now time.Time, loc *time.Location) string {
	link := "connected"
	if !u.Connected {
		link = "NOT CONNECTED"
	}
	parts := []string{link + " " + sanitize.Line(u.Peer), backlog(u, loc)}
	if u.LastDeliveryAt.IsZero() {
		parts = append(parts, "last delivery never (since start)")
	} else {
		parts = append(parts, fmt.Sprintf("last delivery %s (%s)", Clock(u.LastDeliveryAt, loc), ago(now, u.LastDeliveryAt)))
	}
	if u.ClockOffsetMS != nil {
		parts = append(parts, fmt.Sprintf("clock offset %+.1f s", float64(*u.ClockOffsetMS)/1000))
	}
	if u.TransmissionFault {
		parts = append(parts, "TRANSMISSION FAULT (R25)")
	}
	return strings.Join(parts, " · ")
}

func backlog(u api.UplinkState, loc *time.Location) string {
	if u.Error != "" {
		return "cannot read its backlog: " + sanitize.Line(u.Error)
	}
	s := fmt.Sprintf("%d unsent", u.Depth)
	if u.Depth > 0 {
		s += fmt.Sprintf(", oldest %s (%s old)", Clock(u.OldestUnsentAt, loc), seconds(u.OldestUnsentAgeS))
	}
	return s
}

// queueUplinks prints each uplink's backlog above the queue.
func queueUplinks(w io.Writer, us []api.UplinkState, loc *time.Location) {
	if len(us) < 2 {
		return
	}
	for _, u := range us {
		fmt.Fprintf(w, "uplink %-8s %s\n", sanitize.Line(u.Name), backlog(u, loc))
	}
}
