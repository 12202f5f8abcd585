package mqttlink

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Reconnect storms (mosquitto #1035): when a broker restarts, every
// gateway of a county loses its connection in the same instant, and the
// jittered backoff alone brings them all back within MinBackoff/2 (0.5 s
// with the defaults): a thousand CONNECTs, session restores and backlog
// drains at once. Options.ConnectSpread adds a fixed per-gateway offset,
// uniform over [0, ConnectSpread) across a fleet, so the broker sees about
// fleet / ConnectSpread connections per second instead.
//
// When the offset is waited:
//   - before the first connect of Run (a county's gateways that boot
//     together after a power cut come up spread out);
//   - before the first attempt after the broker closed the connection
//     (EOF or reset: a broker restart or a takeover), after the backoff's
//     jitter.
//
// Later attempts of the same outage wait for their backoff and then for
// the gateway's next slot (its first attempt + k × ConnectSpread, see
// slots): however long the broker stays down, the fleet comes back spread
// over one ConnectSpread.
//
// When it is not waited:
//   - after the link ended a session itself (no PUBACK within AckTimeout
//     on a connection still open, a subscribe or publish refused): that is
//     this gateway's own retry, not correlated with the fleet, so it
//     reconnects after the jitter only, as before;
//   - after a loss the broker did not announce (keepalive timeout, a
//     network error): the fleet detects those at scattered times anyway;
//   - while a fire-class record (outbox.PriorityLevel1) is pending: it is
//     checked before the wait and after every Notify, and cuts the wait
//     short. A fire alarm is never held back to spare the broker;
//   - ever once connected: the spread only delays a connection attempt,
//     never a publish.
//
// DefaultConnectSpread is the daemon's default (uplink.mqtt.connect_spread).
// 10 s brings a fleet back at about fleet/10 CONNECTs per second: 1 000
// gateways after a mosquitto restart, measured by the fleet test
// (scripts/fleet.sh), peaked at 110-113 per second (restarts of 1.6 s and
// 5.3 s) instead of 552 (and 998 in mosquitto's own log) without it, and
// were all back within 10 s of the broker. Each second of spread is a
// second the last gateway's buffered events wait after a restart, so it
// stays short: a tenth of R25's 100 s, so a restart never raises a
// transmission fault; below 14 s, so a client id takeover loop still
// closes each clone 3 times a minute (takeover.go); and fire-class events
// do not wait for it.
const DefaultConnectSpread = 10 * time.Second

// ConnectDelay is the fixed offset in [0, spread) of gatewayID: the first
// 8 bytes of its SHA-256, scaled to spread. A gateway keeps its offset
// across restarts; gateway ids that differ only in a digit get unrelated
// offsets. 0 when spread ≤ 0.
func ConnectDelay(gatewayID string, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := sha256.Sum256([]byte(gatewayID))
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(h[:8]), uint64(spread))
	return time.Duration(hi) // floor(h / 2^64 · spread) < spread
}

// loss is how one connection ended, as paho's connection lost handler
// reported it.
type loss struct {
	done chan struct{} // closed when paho reports the connection lost
	once sync.Once
	err  error // why; written before done is closed
}

func newLoss() *loss { return &loss{done: make(chan struct{})} }

func (x *loss) set(err error) {
	x.once.Do(func() {
		x.err = err
		close(x.done)
	})
}

// byBroker reports whether the connection was lost because the broker
// closed it (see closedByBroker), as when it restarts. open is whether
// paho still has the connection open: when it does not, paho is reporting
// a loss (its handler runs once its workers stopped, so a publish can fail
// with "not Connected" first), and byBroker waits for it, at most settle.
func (x *loss) byBroker(open bool) bool {
	if open {
		select {
		case <-x.done:
		default:
			return false // the link ended the session itself
		}
	}
	t := time.NewTimer(lossSettle)
	defer t.Stop()
	select {
	case <-x.done:
		return closedByBroker(x.err)
	case <-t.C:
		return false
	}
}

// lossSettle bounds the wait for paho's report of a loss under way.
const lossSettle = time.Second

// slots are the instants a spread link may try to connect: its offset
// after the start of the outage, then every ConnectSpread. Every attempt
// of an outage waits for the first slot after its backoff, so when the
// broker comes back, whenever that is, the fleet's next attempts fall on
// their slots, spread evenly over one ConnectSpread; without slots, the
// gateways with small offsets that tried while the broker was still down
// would retry on their backoff and crowd its first seconds.
type slots struct {
	next  time.Time // the next slot; zero until the first attempt
	every time.Duration
	off   time.Duration
}

// newSlots starts the slots of an outage; nil when the spread is off.
func (l *Link) newSlots() *slots {
	if l.opts.ConnectSpread <= 0 {
		return nil
	}
	return &slots{every: l.opts.ConnectSpread, off: ConnectDelay(l.opts.GatewayID, l.opts.ConnectSpread)}
}

// wait is how long until the first slot at or after now.
func (s *slots) wait(now time.Time) time.Duration {
	if s.next.IsZero() {
		s.next = now.Add(s.off)
	}
	if late := now.Sub(s.next); late > 0 {
		s.next = s.next.Add((late + s.every - 1) / s.every * s.every)
	}
	return s.next.Sub(now)
}

// spreadWait waits for the link's next slot (none when sl is nil), or
// less: until ctx is done, a fire-class record is pending or the endpoint
// changes (redial true).
func (l *Link) spreadWait(ctx context.Context, sl *slots) (redial bool) {
	if sl == nil {
		return false
	}
	d := sl.wait(time.Now())
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		if l.firePending(ctx) {
			l.log.Info("uplink: a fire-class event is pending: connecting without the connect spread", "spread_wait", d)
			return false
		}
		select {
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		case <-l.redial:
			return true
		case <-l.notify: // an Append: look again (the session drains anyway)
		}
	}
}

// firePending reports whether the first pending record is fire-class
// (Pending returns them first).
func (l *Link) firePending(ctx context.Context) bool {
	recs, err := l.opts.Outbox.Pending(ctx, 1)
	return err == nil && len(recs) > 0 && recs[0].Priority == outbox.PriorityLevel1
}
