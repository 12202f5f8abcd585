package config

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
)

// Gap is a bus's buses[].gap: the silence the master keeps on the line
// before each request. 0 (the key left out) is t3.5 on rtu, as the Modbus
// serial line spec says; a positive duration replaces it; GapMinimal
// ("minimal", or any negative duration) keeps no gap, as libmodbus and
// mbpoll do, only for lines whose devices tolerate back-to-back frames.
// It maps to transport.Config.Gap.
type Gap time.Duration

// GapMinimal is the gap "minimal": no master gap at all.
const GapMinimal Gap = -1

// maxGap bounds a positive gap: longer only wastes the line.
const maxGap = Gap(time.Second)

// String returns "minimal", "t3.5" for 0, or the duration.
func (g Gap) String() string {
	switch {
	case g < 0:
		return "minimal"
	case g == 0:
		return "t3.5"
	}
	return time.Duration(g).String()
}

// MarshalYAML prints the gap as Load reads it back: "minimal" or a
// duration (0, t3.5, is left out).
func (g Gap) MarshalYAML() (any, error) {
	if g < 0 {
		return "minimal", nil
	}
	return time.Duration(g).String(), nil
}

var gapType = reflect.TypeFor[Gap]()

// gap decodes "minimal" or a duration (a negative one is minimal too).
func (d decoder) gap(path string, raw any, v reflect.Value) {
	s, zero := durationText(raw)
	if zero {
		v.SetInt(0)
		return
	}
	if s == "minimal" {
		v.SetInt(int64(GapMinimal))
		return
	}
	if dur, err := time.ParseDuration(s); err == nil && s != "" {
		v.SetInt(int64(max(Gap(dur), GapMinimal)))
		return
	}
	d.p.decodeErr(path, "%s is neither a duration (e.g. 2ms) nor minimal%s", show(raw), d.from(path, raw))
}

// validateGap: the gap is a serial-line setting; Modbus TCP has none.
func validateGap(p *problems, at string, b Bus) {
	switch {
	case b.Gap == 0:
	case b.Type == "tcp":
		p.add(at+".gap", "is only for rtu and rtu-over-tcp buses (Modbus TCP keeps no gap between requests)")
	case b.Gap > maxGap:
		p.add(at+".gap", "%s is longer than %s", b.Gap, time.Duration(maxGap))
	}
}

// echoModes are the values of buses[].echo.
var echoModes = []string{"auto", "on", "off"}

// validateEcho: the local echo is a serial-line matter.
func validateEcho(p *problems, at string, b Bus) {
	switch {
	case b.Echo == "":
	case !slices.Contains(echoModes, b.Echo):
		p.add(at+".echo", "%q is not one of %s%s", b.Echo, strings.Join(echoModes, ", "), hint(b.Echo, echoModes))
	case b.Type == "tcp":
		p.add(at+".echo", "is only for rtu and rtu-over-tcp buses (a Modbus TCP connection does not echo)")
	}
}

// PlanOptions are the request-planning options of the device: its poll:,
// when set, reads every point at that one interval. The daemon and
// `config check --print` compile the same plan from them.
func (d Device) PlanOptions() profile.PlanOptions {
	return profile.PlanOptions{Poll: d.Poll}
}
