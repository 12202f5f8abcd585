package serve

import (
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// graceOnly reports whether g is not lost at now only because of the
// grace after the service's start (Since): its own last status is older
// than Heartbeat. The verdict is then unsure of g, and the store leaves
// its 网关失联 order as it is — with several instances on one database
// (scale-out), an instance that just restarted must not clear the order
// that another instance, up all along, raised.
func (w Watchdog) graceOnly(now time.Time, g store.Gateway) bool {
	if g.LastStatus.IsZero() && g.Events == 0 && g.Telemetry == 0 {
		return false // only a rejected message named it
	}
	return now.Sub(g.LastStatus) > w.Heartbeat
}
