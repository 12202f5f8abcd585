package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// inbound is one decoded frame, a frame to deny (err is a
// *gb26875.FrameError) or the end of the connection (any other err).
type inbound struct {
	f   gb26875.Frame
	err error
}

// session is one TCP connection: the link's sends numbered from 0, one
// outstanding at a time; the centre's frames arrive on in from the reader.
type session struct {
	l      *Link
	conn   net.Conn
	in     chan inbound
	done   chan struct{}
	serial uint16
	hb     *time.Timer
	// progressed: a frame was confirmed on this connection.
	progressed bool
}

func newSession(l *Link, conn net.Conn) *session {
	return &session{l: l, conn: conn, in: make(chan inbound, 8), done: make(chan struct{})}
}

// run serves the connection until ctx is done or it fails; it closes the
// connection and waits for its reader before returning.
func (s *session) run(ctx context.Context) (bool, error) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.read() }()
	defer func() { close(s.done); s.conn.Close(); wg.Wait() }()
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	s.hb = time.NewTimer(s.l.o.Heartbeat)
	defer s.hb.Stop()
	err := s.serve(ctx)
	return s.progressed, err
}

func (s *session) serve(ctx context.Context) error {
	o := &s.l.o
	if err := s.exchange(ctx, mustUnit(s.l.versionUnit())); err != nil {
		return err
	}
	poll := time.NewTicker(o.PollInterval)
	defer poll.Stop()
	for {
		if err := s.drain(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.l.notify:
		case <-poll.C:
		case <-s.hb.C:
			if err := s.exchange(ctx, mustUnit(s.l.heartbeatUnit())); err != nil {
				return err
			}
		case in := <-s.in:
			if err := s.handle(in); err != nil {
				return err
			}
		case op := <-s.l.duty:
			if err := s.sendDutyAnswer(ctx, op); err != nil {
				return err
			}
		}
	}
}

// sendDutyAnswer sends a person's duty-check answer; when the connection
// fails first it is queued again for the next one.
func (s *session) sendDutyAnswer(ctx context.Context, op gb26875.DeviceOperation) error {
	err := s.exchange(ctx, mustUnit(gb26875.AppData{Type: gb26875.TypeDeviceOperation, Objects: []gb26875.Object{op}}))
	if err != nil {
		select {
		case s.l.duty <- op:
		default:
		}
		return err
	}
	s.l.m.keepDeviceOp(op)
	return nil
}

// read decodes the centre's frames until the connection ends; the centre
// silent for Options.Silence ends it too.
func (s *session) read() {
	d := gb26875.NewDecoder(s.conn)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.l.o.Silence))
		f, err := d.Next()
		var fe *gb26875.FrameError
		if err != nil && !errors.As(err, &fe) {
			err = fmt.Errorf("read: %w", err)
		} else {
			s.l.traced(TraceRX, d.Raw(), err)
		}
		select {
		case s.in <- inbound{f: f, err: err}:
		case <-s.done:
			return
		}
		if err != nil && fe == nil {
			return
		}
	}
}

// drain delivers pending records, the most urgent first, re-reading the
// head of the outbox after each one so a fire alarm appended meanwhile
// goes next. Outbox errors are logged and retried at the next poll; a
// link failure ends the session.
func (s *session) drain(ctx context.Context) error {
	l := s.l
	for ctx.Err() == nil {
		recs, err := l.o.Outbox.Pending(ctx, 1)
		if err != nil {
			l.log.Error("gb26875: outbox read failed; retrying", "err", err)
			return nil
		}
		if len(recs) == 0 {
			return nil
		}
		rec := recs[0]
		units, err := l.encode(rec)
		if err != nil {
			// A record that cannot be sent would block the link forever: it
			// is kept in the outbox for diagnosis and skipped on this uplink.
			l.log.Error("gb26875: UNSENDABLE record skipped (kept in the outbox)", "seq", rec.Seq, "event_id", rec.EventID, "err", err)
		}
		for _, u := range units {
			if err := s.exchange(ctx, u); err != nil {
				return err
			}
		}
		if err := l.markSent(rec, len(units) == 0); err != nil {
			l.log.Error("gb26875: outbox update failed; the record will be sent again", "seq", rec.Seq, "err", err)
			return nil
		}
	}
	return nil
}

// unit is one encoded application data unit.
type unit struct {
	name string
	data []byte
}

// encode maps rec to its units and encodes them; none for a record this
// uplink does not send.
func (l *Link) encode(rec outbox.Record) ([]unit, error) {
	apps, err := l.m.units(rec, l.o.Now())
	if err != nil {
		return nil, err
	}
	out := make([]unit, 0, len(apps))
	for _, a := range apps {
		b, err := a.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("seq %d: encode %s: %w", rec.Seq, a.Type.Name(), err)
		}
		out = append(out, unit{a.Type.Name(), b})
	}
	return out, nil
}

// mustUnit encodes one of the link's own units (heartbeat, version),
// which always fit.
func mustUnit(a gb26875.AppData) unit {
	b, err := a.MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("gb26875 link: own %s does not encode: %v", a.Type.Name(), err))
	}
	return unit{a.Type.Name(), b}
}

// exchange sends u as a send-data frame and waits for its confirm,
// sending the same frame again after a deny or a confirm timeout, up to
// Options.Retries times.
func (s *session) exchange(ctx context.Context, u unit) error {
	o := &s.l.o
	f := s.frame(gb26875.CmdSend, s.serial, u.data)
	s.serial++
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	for try := 0; try <= o.Retries; try++ {
		if try > 0 {
			s.l.count(func(st *Stats) { st.Retransmits++ })
		}
		sent := time.Now()
		if err := s.write(b); err != nil {
			return err
		}
		res, err := s.await(ctx, f.Serial)
		switch {
		case err != nil:
			return err
		case res == confirmed:
			rtt := time.Since(sent)
			s.progressed = true
			s.l.count(func(st *Stats) { st.Frames++; st.LastRoundTrip = rtt })
			s.hb.Reset(o.Heartbeat)
			return nil
		case res == denied:
			s.l.count(func(st *Stats) { st.Denied++ })
		default:
			s.l.count(func(st *Stats) { st.Timeouts++ })
		}
	}
	s.l.count(func(st *Stats) { st.GaveUp++ })
	return fmt.Errorf("%s serial %d: not confirmed after %d sends", u.name, f.Serial, o.Retries+1)
}

type result int

const (
	timedOut result = iota
	confirmed
	denied
)

// await waits for the confirm or deny of serial, answering the centre's
// commands meanwhile.
func (s *session) await(ctx context.Context, serial uint16) (result, error) {
	t := time.NewTimer(s.l.o.ConfirmTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return timedOut, ctx.Err()
		case <-t.C:
			return timedOut, nil
		case in := <-s.in:
			if in.err == nil && in.f.Serial == serial {
				switch in.f.Command {
				case gb26875.CmdConfirm:
					return confirmed, nil
				case gb26875.CmdDeny:
					return denied, nil
				}
			}
			if err := s.handle(in); err != nil {
				return timedOut, err
			}
		}
	}
}

// frame is a frame of the link's with the time label now.
func (s *session) frame(c gb26875.Command, serial uint16, data []byte) gb26875.Frame {
	o := &s.l.o
	return gb26875.Frame{
		Serial: serial, Version: gb26875.Version2011, Time: s.l.label(o.Now()),
		Source: o.Address, Dest: o.CentreAddress, Command: c, Data: data,
	}
}

func (s *session) write(b []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.l.o.ConfirmTimeout))
	s.l.traced(TraceTX, b, nil) // before the write: its answer may be read before Write returns
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (l *Link) label(t time.Time) gb26875.TimeLabel { return gb26875.LabelOf(t.In(l.o.Location)) }

// heartbeatUnit is the idle-link heartbeat: the device's state (type 21).
func (l *Link) heartbeatUnit() gb26875.AppData {
	return gb26875.AppData{Type: gb26875.TypeDeviceState, Objects: []gb26875.Object{
		gb26875.DeviceState{Status: l.m.deviceStatus(), Time: l.label(l.o.Now())}}}
}

// versionUnit is the device's software version (type 25), sent first on
// every connection.
func (l *Link) versionUnit() gb26875.AppData {
	return gb26875.AppData{Type: gb26875.TypeDeviceVersion, Objects: []gb26875.Object{
		gb26875.DeviceVersion{Major: l.o.Version[0], Minor: l.o.Version[1]}}}
}
