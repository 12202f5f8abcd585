package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// testAlarmPoll is how often diag test-alarm asks the daemon whether the
// broker and the township acknowledged the test ticket.
const testAlarmPoll = 100 * time.Millisecond

// testAlarmResult is what `diag test-alarm --json` prints.
type testAlarmResult struct {
	api.TestAlarm
	SentAt  time.Time `json:"sent_at,omitzero"` // PUBACK
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
}

// newDiagTestAlarmCmd is `fenghuo diag test-alarm --device D`: a `test`
// ticket end to end through the daemon's outbox and uplink.
func newDiagTestAlarmCmd(f *diagFlags) *cobra.Command {
	var device string
	var wait time.Duration
	c := &cobra.Command{
		Use:   "test-alarm --device D [--wait 30s]",
		Short: "Send a test ticket of a device end to end; show the broker's and the township's acknowledgement",
		Long: `test-alarm asks the daemon to commit a ticket event with state "test" for
device D (its first alarm rule gives hazard and level) and waits for it: when
the broker acknowledged it (PUBACK) and, within --wait, when and by whom the
township acknowledged it. A test ticket is never a real one: the township
sees state "test", it opens nothing in the rule engine and it is sent after
any real level-1 event.

Exit codes: 0 the broker acknowledged it (a township ack is reported, not
required); 1 it was not acknowledged within --wait (the ticket stays queued
and is sent once the uplink is back), the device is unknown, or no daemon
answers; 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if device == "" {
				return usage(errors.New("diag test-alarm: --device D is required (fenghuo diag devices lists them)"))
			}
			if wait <= 0 {
				return usage(fmt.Errorf("diag test-alarm: --wait %s: want a positive duration", wait))
			}
			socket, err := f.resolveSocket()
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			progress := out
			if f.json {
				progress = io.Discard
			}
			res, err := testAlarm(c.Context(), api.NewClient(socket), device, wait, progress)
			if f.json && res.Seq != 0 {
				if jerr := printJSON(out, res); jerr != nil {
					return jerr
				}
			}
			if err != nil {
				return failed(explainDial(socket, err))
			}
			return nil
		},
	}
	c.Flags().StringVar(&device, "device", "", "the device id (as in the config)")
	c.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for the broker's and the township's acknowledgement")
	return c
}

// testAlarm commits the test ticket and follows it through the outbox
// until the township acknowledges it or wait runs out; it prints each
// step on w.
func testAlarm(ctx context.Context, cl *api.Client, device string, wait time.Duration, w io.Writer) (testAlarmResult, error) {
	ta, err := cl.TestAlarm(ctx, device)
	if err != nil {
		return testAlarmResult{}, err
	}
	res := testAlarmResult{TestAlarm: ta}
	label := ta.Hazard
	if h, ok := rules.LookupHazard(ta.Hazard); ok {
		label = h.Zh + " " + h.En
	}
	fmt.Fprintf(w, "%-22s %s (seq %d): %s, level %s, rule %s\n", "test ticket committed", clock(ta.CommittedAt, localTime), ta.Seq, sanitize.Line(label), levelName(ta.Level), sanitize.Line(ta.Rule))
	fmt.Fprintf(w, "%-22s %s\n", "ticket id", sanitize.Line(ta.TicketID))
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(testAlarmPoll)
	defer tick.Stop()
	for {
		h, err := cl.History(ctx, api.HistoryQuery{TicketID: ta.TicketID})
		if err != nil && ctx.Err() == nil {
			return res, err
		}
		if err == nil && len(h.Records) > 0 {
			r := h.Records[len(h.Records)-1]
			if res.SentAt.IsZero() && !r.SentAt.IsZero() {
				res.SentAt = r.SentAt
				fmt.Fprintf(w, "%-22s %s (PUBACK, %s after commit)\n", "broker acknowledged", clock(r.SentAt, localTime), short(r.SentAt.Sub(ta.CommittedAt)))
			}
			if !r.AckedAt.IsZero() {
				res.AckedBy, res.AckedAt = r.AckedBy, r.AckedAt
				fmt.Fprintf(w, "%-22s %s by %s (%s after PUBACK)\n", "township acknowledged", clock(r.AckedAt, localTime), orDash(sanitize.Line(r.AckedBy)), short(r.AckedAt.Sub(res.SentAt)))
				return res, nil
			}
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		if err := parent.Err(); err != nil {
			return res, fmt.Errorf("interrupted (%v); the test ticket %s stays in the outbox", err, ta.TicketID)
		}
		if res.SentAt.IsZero() {
			return res, fmt.Errorf("the broker did not acknowledge the test ticket within %s: is the uplink down? (fenghuo diag status, fenghuo diag uplink); it stays queued and is sent once the link is back", wait)
		}
		fmt.Fprintf(w, "%-22s none within %s (the township may not acknowledge test tickets)\n", "township acknowledged", wait)
		return res, nil
	}
}

// short is a duration for a progress line: 12ms, 1.3s.
func short(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
