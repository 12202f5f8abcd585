package link

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Link delivers one outbox to one centre. Create it with [New], run it
// with [Link.Run]; Notify and Stats are safe from any goroutine.
type Link struct {
	o       Options
	log     *slog.Logger
	m       *mapper
	notify  chan struct{}
	duty    chan gb26875.DeviceOperation // a person's duty-check answer, waiting to be sent
	running atomic.Bool

	mu sync.Mutex
	st Stats

	tmu     sync.Mutex
	tracers map[int]func(TraceFrame) // trace.go
	tnext   int
}

// Stats are the link's counters since New.
type Stats struct {
	Connected   bool
	Connects    uint64 // TCP connections opened
	Delivered   uint64 // records confirmed and marked sent
	Skipped     uint64 // records not sent on this link (telemetry, unmappable) and marked sent
	Frames      uint64 // send frames confirmed (records, heartbeats, version)
	Retransmits uint64 // frames sent again after a timeout or a deny
	Denied      uint64 // denies (6) of the link's own frames
	Timeouts    uint64 // confirm timeouts
	GaveUp      uint64 // frames that exhausted the retries (a reconnect each)
	BadFrames   uint64 // frames from the centre denied (bad frame, unknown request)
	Answered    uint64 // centre commands and queries answered
	DutyChecks  uint64 // 查岗 received
	// LastRoundTrip is send → confirm of the last confirmed frame.
	LastRoundTrip time.Duration
	// ClockOffset is the centre's clock minus the gateway's at the last
	// clock sync (ClockKnown).
	ClockOffset time.Duration
	ClockKnown  bool
	LastError   string
	// LastDelivered is when the last record was confirmed and marked
	// sent (zero before the first).
	LastDelivered time.Time
}

// New checks the options and builds a Link; it does not connect.
func New(o Options) (*Link, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Link{
		o: o, log: o.Logger.With("component", "gb26875", "centre", o.Centre),
		m: newMapper(o.BusZones, o.Location), notify: make(chan struct{}, 1),
		duty: make(chan gb26875.DeviceOperation, 1),
	}, nil
}

// Notify wakes the link after records were appended. It never blocks.
func (l *Link) Notify() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// AnswerDutyCheck queues the answer to the centre's duty check (查岗应答:
// a device operation, type 24, bit 5) given by a person, operator being
// their number (0 when unknown). It is sent on the connection, after the
// record in flight, and kept for query 84. It returns false when an
// answer is already waiting. The link never answers a duty check itself.
func (l *Link) AnswerDutyCheck(operator uint8) bool {
	op := gb26875.DeviceOperation{Flags: gb26875.DevOpDutyAnswer, Operator: operator, Time: l.label(l.o.Now())}
	select {
	case l.duty <- op:
		return true
	default:
		return false
	}
}

// Stats returns a snapshot of the counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

func (l *Link) count(f func(*Stats)) {
	l.mu.Lock()
	f(&l.st)
	l.mu.Unlock()
}

// Run connects, delivers and answers until ctx is done; a lost
// connection or a frame that exhausted its retries is logged, and the link
// connects again after a jittered exponential backoff. The records wait in
// the outbox meanwhile. It returns nil after ctx is done.
func (l *Link) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("link: Run is already running")
	}
	defer l.running.Store(false)
	bo := backoff{min: l.o.MinBackoff, max: l.o.MaxBackoff}
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, l.o.DialTimeout)
		conn, err := l.o.Dial(dctx, "tcp", l.o.Centre)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				l.fail("connect failed; events wait in the outbox", err)
				sleep(ctx, bo.next())
			}
			continue
		}
		l.count(func(s *Stats) { s.Connects++; s.Connected = true })
		l.log.Info("gb26875: connected", "local", conn.LocalAddr().String())
		s := newSession(l, conn)
		progressed, err := s.run(ctx)
		l.count(func(s *Stats) { s.Connected = false })
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			bo.reset()
		}
		l.fail("connection given up; reconnecting", err)
		sleep(ctx, bo.next())
	}
	return nil
}

func (l *Link) fail(msg string, err error) {
	l.log.Warn("gb26875: "+msg, "err", err)
	l.count(func(s *Stats) { s.LastError = err.Error() })
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// backoff is jittered exponential backoff between min and max: each wait
// is drawn from [d/2, d] and d doubles after every failure.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }

// markSent marks rec sent on this link and counts it.
func (l *Link) markSent(rec outbox.Record, skipped bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := l.o.Now()
	if err := l.o.Outbox.MarkSent(ctx, at, rec.Seq); err != nil {
		return err
	}
	l.count(func(s *Stats) {
		if skipped {
			s.Skipped++
		} else {
			s.Delivered++
			s.LastDelivered = at
		}
	})
	if !skipped && l.o.OnDelivered != nil {
		l.o.OnDelivered(rec, at)
	}
	return nil
}
