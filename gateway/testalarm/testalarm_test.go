package testalarm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// daemon answers like the local API of a daemon whose outbox takes the
// test ticket at commit and whose broker and township acknowledge it
// sentAfter and ackedAfter later (0: never).
type daemon struct {
	commit     time.Time
	sentAfter  time.Duration
	ackedAfter time.Duration
	historyErr error
	asked      int
}

func (d *daemon) TestAlarm(ctx context.Context, device string) (api.TestAlarm, error) {
	if device != "smoke-1" {
		return api.TestAlarm{}, errors.New(`no device "` + device + `"`)
	}
	d.commit = time.Now()
	return api.TestAlarm{TicketID: "gw/smoke-1/R1/test-1", Seq: 7, Hazard: "smoke_fire_alarm", Level: 1, CommittedAt: d.commit}, nil
}

func (d *daemon) History(ctx context.Context, q api.HistoryQuery) (api.History, error) {
	d.asked++
	if d.historyErr != nil {
		return api.History{}, d.historyErr
	}
	r := api.HistoryRecord{TicketID: q.TicketID, State: "test", CreatedAt: d.commit}
	if at := d.commit.Add(d.sentAfter); d.sentAfter > 0 && !time.Now().Before(at) {
		r.SentAt = at
	}
	if at := d.commit.Add(d.ackedAfter); d.ackedAfter > 0 && !time.Now().Before(at) {
		r.AckedBy, r.AckedAt = "值班员", at
	}
	return api.History{Records: []api.HistoryRecord{r}}, nil
}

// stages records what Run reported.
type stages []Stage

func (s *stages) on(st Stage, _ Result) { *s = append(*s, st) }

func TestRunFollowsTheTicketToTheTownshipAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &daemon{sentAfter: 250 * time.Millisecond, ackedAfter: 2 * time.Second}
		var got stages
		res, err := Run(t.Context(), d, "smoke-1", 30*time.Second, got.on)
		if err != nil {
			t.Fatal(err)
		}
		if want := (stages{Committed, Sent, Acked}); !slices.Equal(got, want) {
			t.Errorf("stages %v, want %v", got, want)
		}
		if res.Seq != 7 || !res.SentAt.Equal(d.commit.Add(250*time.Millisecond)) || res.AckedBy != "值班员" || !res.AckedAt.Equal(d.commit.Add(2*time.Second)) {
			t.Errorf("result %+v", res)
		}
		// Asked every Poll until the ack: at 0, 0.1 s, …, 2 s.
		if want := int(2*time.Second/Poll) + 1; d.asked != want {
			t.Errorf("asked the daemon %d times, want %d (every %s)", d.asked, want, Poll)
		}
	})
}

func TestRunBrokerTookItTownshipSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &daemon{sentAfter: time.Second}
		var got stages
		start := time.Now()
		res, err := Run(t.Context(), d, "smoke-1", 5*time.Second, got.on)
		if err != nil {
			t.Fatalf("a township that does not acknowledge is no error: %v", err)
		}
		if want := (stages{Committed, Sent, NotAcked}); !slices.Equal(got, want) {
			t.Errorf("stages %v, want %v", got, want)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("waited %s, want the whole wait of 5s", took)
		}
		if res.SentAt.IsZero() || !res.AckedAt.IsZero() {
			t.Errorf("result %+v", res)
		}
	})
}

func TestRunNoPubackIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got stages
		_, err := Run(t.Context(), &daemon{}, "smoke-1", time.Second, got.on)
		if err == nil || !strings.Contains(err.Error(), "the broker did not acknowledge the test ticket within 1s") {
			t.Errorf("error %v", err)
		}
		if want := (stages{Committed}); !slices.Equal(got, want) {
			t.Errorf("stages %v, want %v", got, want)
		}
	})
}

func TestRunInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := Run(ctx, &daemon{}, "smoke-1", time.Minute, func(Stage, Result) {})
		if err == nil || !strings.HasPrefix(err.Error(), "interrupted (context deadline exceeded); the test ticket gw/smoke-1/R1/test-1 stays in the outbox") {
			t.Errorf("error %v", err)
		}
	})
}

func TestRunDaemonErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if _, err := Run(t.Context(), &daemon{}, "nope", time.Second, func(Stage, Result) {}); err == nil || err.Error() != `no device "nope"` {
			t.Errorf("unknown device: %v", err)
		}
		lost := errors.New("daemon on /run/fenghuo.sock: connection reset")
		var got stages
		if _, err := Run(t.Context(), &daemon{historyErr: lost}, "smoke-1", time.Second, got.on); !errors.Is(err, lost) {
			t.Errorf("history error: %v", err)
		}
		if want := (stages{Committed}); !slices.Equal(got, want) {
			t.Errorf("stages %v, want %v", got, want)
		}
	})
}
