package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Device ids of configs/demo.yaml the scenario plays with.
const (
	kitchen = "smoke-1f-kitchen"
	dorm    = "smoke-2f-dorm"
	panel   = "efd-1f-main"
)

// script plays the scenario's steps in order; each waits for the tickets it
// expects (never a fixed sleep for an outcome) and fails after a deadline.
func (s *site) script(ctx context.Context) error {
	// Give the gateway its first polls and its broker connection.
	if err := s.sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"smoke alarm", s.smokeAlarm},
		{"residual current noise", s.residualNoise},
		{"device offline", s.deviceOffline},
		{"uplink outage", s.uplinkOutage},
	}
	for i, st := range steps {
		fmt.Fprintf(s.out, "\n▶ step %d/%d: %s\n", i+1, len(steps), st.name)
		if err := st.run(ctx); err != nil {
			return fmt.Errorf("step %q: %w", st.name, err)
		}
		s.stepDone = append(s.stepDone, st.name)
	}
	return nil
}

// is matches a ticket by device, hazard and state.
func is(device, hazard, state string) func(ticket.Ticket) bool {
	return func(t ticket.Ticket) bool {
		return t.Device.ID == device && t.Hazard == hazard && t.State == state
	}
}

func (s *site) say(format string, args ...any) {
	fmt.Fprintf(s.out, "  · "+format+"\n", args...)
}

func (s *site) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expect waits for a ticket and records the latency from `since`.
func (s *site) expect(ctx context.Context, step string, since time.Time, max time.Duration, match func(ticket.Ticket) bool) (received, error) {
	r, err := s.recv.wait(ctx, since, max, match)
	if err != nil {
		return r, err
	}
	if step != "" {
		s.mu.Lock()
		s.latency[step] = r.at.Sub(since)
		s.since[step] = stepMark{at: since, device: r.t.Device.Name}
		s.mu.Unlock()
	}
	return r, nil
}

// smokeAlarm: a fire alarm in the kitchen, then the detector is reset.
func (s *site) smokeAlarm(ctx context.Context) error {
	s.say("一楼厨房烟感 (%s) raises its fire-alarm bit", kitchen)
	at := time.Now()
	if err := s.devs[kitchen].SetBit("status", 1, true); err != nil {
		return err
	}
	if _, err := s.expect(ctx, "smoke alarm", at, 10*time.Second, is(kitchen, "smoke_fire_alarm", "open")); err != nil {
		return err
	}
	if err := s.sleep(ctx, time.Second); err != nil {
		return err
	}
	s.say("the detector is reset: the bit drops")
	at = time.Now()
	if err := s.devs[kitchen].SetBit("status", 1, false); err != nil {
		return err
	}
	_, err := s.expect(ctx, "", at, 10*time.Second, is(kitchen, "smoke_fire_alarm", "clear"))
	return err
}

// residualNoise: leakage current wanders around its 300 mA setpoint with
// noise; the hysteresis band keeps it to one ticket, which clears when the
// leakage is back to normal.
func (s *site) residualNoise(ctx context.Context) error {
	dev := s.devs[panel]
	set := func(v float64) error { return dev.Set("residual_current", v) }
	s.say("一楼总配电箱 (%s): residual current rises to 310–330 mA (its setpoint is 300 mA)", panel)
	at := time.Now()
	rising, stopRise := context.WithCancel(ctx)
	riseDone := make(chan error, 1)
	go func() {
		_, err := s.wander(rising, time.Minute, 310, 330, set)
		riseDone <- err
	}()
	_, err := s.expect(ctx, "residual current noise", at, 20*time.Second, is(panel, "residual_current_alarm", "open"))
	stopRise()
	if rerr := <-riseDone; rerr != nil && rising.Err() == nil {
		return rerr
	}
	if err != nil {
		return err
	}
	s.say("then it wanders 280–320 mA with noise for 8 s")
	crossings, err := s.wander(ctx, 8*time.Second, 280, 320, set)
	if err != nil {
		return err
	}
	s.say("the value crossed 300 mA %d times", crossings)
	s.say("leakage back to 120 mA, below the 270 mA clear level (setpoint − 10 %%)")
	at = time.Now()
	if err := dev.Set("residual_current", 120); err != nil {
		return err
	}
	if _, err := s.expect(ctx, "", at, 15*time.Second, is(panel, "residual_current_alarm", "clear")); err != nil {
		return err
	}
	if n := s.recv.count(is(panel, "residual_current_alarm", "open")); n != 1 {
		return fmt.Errorf("%d residual-current tickets opened, want exactly 1", n)
	}
	s.say("one ticket opened and one cleared, not one per crossing")
	return nil
}

// wander sets a noisy value in [lo, hi) every 200 ms for d and returns how
// many times it crossed 300 mA.
func (s *site) wander(ctx context.Context, d time.Duration, lo, hi float64, set func(float64) error) (int, error) {
	rng := rand.New(rand.NewPCG(29, uint64(lo)))
	crossings, above := 0, true
	for end := time.Now().Add(d); time.Now().Before(end); {
		v := lo + rng.Float64()*(hi-lo)
		if (v >= 300) != above {
			crossings++
			above = v >= 300
		}
		if err := set(v); err != nil {
			return crossings, err
		}
		if err := s.sleep(ctx, 200*time.Millisecond); err != nil {
			return crossings, err
		}
	}
	return crossings, nil
}

// deviceOffline: a detector stops answering, then returns.
func (s *site) deviceOffline(ctx context.Context) error {
	s.say("二楼宿舍烟感 (%s) stops answering", dorm)
	at := time.Now()
	s.devs[dorm].SetSilent(true)
	if _, err := s.expect(ctx, "device offline", at, 20*time.Second, is(dorm, "device_offline", "open")); err != nil {
		return err
	}
	s.say("it answers again")
	at = time.Now()
	s.devs[dorm].SetSilent(false)
	_, err := s.expect(ctx, "", at, 15*time.Second, is(dorm, "device_offline", "clear"))
	return err
}

// uplinkOutage: the broker becomes unreachable for the gateway, a fire
// alarm is raised meanwhile, and the ticket waits in the outbox until the
// link is back.
func (s *site) uplinkOutage(ctx context.Context) error {
	s.say("the township broker becomes unreachable (the gateway's uplink is cut)")
	s.link.Cut()
	s.say("二楼宿舍烟感 raises its fire-alarm bit while the link is down")
	at := time.Now()
	if err := s.devs[dorm].SetBit("status", 1, true); err != nil {
		return err
	}
	if err := s.waitRaised(ctx, dorm, "smoke_fire_alarm", 10*time.Second); err != nil {
		return err
	}
	s.say("the alarm is committed to the outbox; the link stays down 2 s more")
	if err := s.sleep(ctx, 2*time.Second); err != nil {
		return err
	}
	s.link.Restore()
	s.say("the link is back")
	r, err := s.expect(ctx, "uplink outage", at, 30*time.Second, is(dorm, "smoke_fire_alarm", "open"))
	if err != nil {
		return err
	}
	s.say("delivered after the outage (buffered=%v)", r.t.Buffered)
	at = time.Now()
	if err := s.devs[dorm].SetBit("status", 1, false); err != nil {
		return err
	}
	_, err = s.expect(ctx, "", at, 10*time.Second, is(dorm, "smoke_fire_alarm", "clear"))
	return err
}

// waitRaised waits until the daemon committed an open event for a hazard.
func (s *site) waitRaised(ctx context.Context, device, hazard string, max time.Duration) error {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, r := range s.raised {
			if r.Device == device && r.Hazard == hazard && r.State == "open" {
				s.mu.Unlock()
				return nil
			}
		}
		s.mu.Unlock()
		if err := s.sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("no %s event committed for %s within %s", hazard, device, max)
}
