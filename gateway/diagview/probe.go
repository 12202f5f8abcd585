package diagview

import (
	"fmt"
	"io"
	"strings"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// The steps of `fenghuo diag uplink` (mqttlink.Probe) as they end.

// ProbeStart prints what is probed: the broker and who logs in; never the
// password.
func ProbeStart(w io.Writer, r mqttlink.ProbeResult) {
	who := "client id " + r.ClientID
	if r.Username != "" {
		who += ", user " + r.Username
	}
	fmt.Fprintf(w, "%-8s %s (%s)\n", "broker", sanitize.Line(r.Broker), sanitize.Line(who))
}

// ProbeStep prints one step: name, status, time, what it found or why it
// failed.
func ProbeStep(w io.Writer, s mqttlink.ProbeStep) {
	status := "ok"
	switch {
	case !s.OK:
		status = "FAILED"
	case s.Ms < 0:
		status = "—"
	}
	took := ""
	if s.Ms >= 0 {
		took = latency(max(s.Ms, 0.1))
	}
	msg := s.Detail
	if !s.OK {
		msg = s.Error
	}
	fmt.Fprintf(w, "%-8s %-6s %-7s %s\n", StepName(s.Step), status, took, sanitize.Line(msg)) // the broker's and DNS's words
}

// StepName is a probe step as a crew reads it: DNS, TCP, TLS, MQTT.
func StepName(s string) string {
	switch s {
	case "dns", "tcp", "tls", "mqtt":
		return strings.ToUpper(s)
	}
	return s
}
