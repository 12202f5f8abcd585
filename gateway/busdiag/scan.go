package busdiag

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// CheckScan validates a scan's id range; a problem is an api.Reject.
func CheckScan(from, to int) error {
	if from < 1 || to > 247 || from > to {
		return api.Reject("scan range %d..%d: want 1 ≤ from ≤ to ≤ 247", from, to)
	}
	return nil
}

// Scan asks every slave id of req.From..req.To whether it answers, and
// matches each one that does against profiles by probing (see
// matchProfiles). Every id is one call of run, and every (id, profile)
// probe another, so that on a daemon the polls go on in between. It emits
// a "progress" event after each id, a "found" event for each device and
// finally the "result".
//
// The probe of an id is one read of holding register 0: a reply with data
// or with a Modbus exception means a device has that id; a garbled reply
// (CRC, framing) means something answered that we cannot read (wrong
// baud or parity?); no reply within the bus timeout means nobody.
func Scan(ctx context.Context, req api.ScanRequest, profiles *profile.Set, run Runner, emit func(api.StreamEvent) error) (api.ScanResult, error) {
	res := api.ScanResult{Bus: req.Bus, From: req.From, To: req.To, Found: []api.ScanFound{}}
	plans := compileAll(profiles)
	start := time.Now()
	total := req.To - req.From + 1
	for id := req.From; id <= req.To; id++ {
		found, ok, err := probeID(ctx, run, id)
		if err != nil {
			return res, fmt.Errorf("scan of bus %s stopped at slave %d: %w", req.Bus, id, err)
		}
		if ok {
			if found.Answer != "garbled" {
				if err := matchProfiles(ctx, run, &found, plans, profiles); err != nil {
					return res, fmt.Errorf("scan of bus %s stopped at slave %d: %w", req.Bus, id, err)
				}
			}
			res.Found = append(res.Found, found)
			if err := emit(api.StreamEvent{Type: "found", Found: &found}); err != nil {
				return res, err
			}
		}
		done := id - req.From + 1
		elapsed := time.Since(start)
		p := api.ScanProgress{Slave: id, Done: done, Total: total, Found: len(res.Found), ElapsedMS: millis(elapsed),
			LeftMS: millis(elapsed) / float64(done) * float64(total-done)}
		if err := emit(api.StreamEvent{Type: "progress", Progress: &p}); err != nil {
			return res, err
		}
	}
	res.TookMS = time.Since(start).Milliseconds()
	return res, emit(api.StreamEvent{Type: "result", Result: &res})
}

// probeID asks one id; ok reports that something answered.
func probeID(ctx context.Context, run Runner, id int) (f api.ScanFound, ok bool, err error) {
	var took time.Duration
	var rerr error
	err = run(ctx, func(ctx context.Context, tr transport.Transport) error {
		if tr == nil {
			return errors.New("the bus is not open (see the daemon's log)")
		}
		start := time.Now()
		_, rerr = tr.Read(ctx, uint8(id), 3, 0, 1)
		took = time.Since(start)
		return nil
	})
	if err != nil {
		return f, false, err
	}
	f = api.ScanFound{Slave: id, LatencyMS: millis(took), Answer: "registers"}
	switch {
	case rerr == nil:
		return f, true, nil
	case exceptionOf(rerr) != nil:
		ex := exceptionOf(rerr)
		f.Answer = fmt.Sprintf("exception %02d %s", ex.Code, ex.Name)
		return f, true, nil
	case errors.Is(rerr, transport.ErrTimeout):
		return f, false, nil
	case errors.Is(rerr, modbus.ErrCRC), errors.Is(rerr, modbus.ErrFrame), errors.Is(rerr, modbus.ErrWrongFunction), errors.Is(rerr, modbus.ErrWrongSlave):
		f.Answer = "garbled"
		return f, true, nil
	case ctx.Err() != nil:
		return f, false, ctx.Err()
	}
	return f, false, rerr // the line itself failed: a port gone or locked, a refused connection
}

// compileAll compiles every profile's plan, by name; a profile that does
// not compile is not probed.
func compileAll(profiles *profile.Set) map[string]*profile.Plan {
	plans := map[string]*profile.Plan{}
	for _, name := range profiles.Names() {
		p, _ := profiles.Get(name)
		if plan, err := profile.Compile(p, profile.PlanOptions{}); err == nil && len(plan.Requests) > 0 {
			plans[name] = plan
		}
	}
	return plans
}

// candidate is a profile a probed device matched.
type candidate struct {
	name            string
	points, nonzero int
}

// matchProfiles probes f's device with every profile (one job each) and
// sets f.Profile to the best match. The heuristic:
//
//   - every read of the profile's plan is answered with data (no
//     exception, no timeout): the device has that register map;
//   - every decoded value is plausible: finite; |value| ≤ 1e6; a float
//     point is 0 or at least 1e-6 in size (a float read in the wrong word
//     order tends to be denormal or huge); a status word with named bits
//     sets no unnamed bit; an absent sentinel is plausible;
//   - of the profiles that pass, the most specific wins: the most points,
//     then the most non-zero values, then the name. (A device with a rich
//     map also answers the registers of a smaller profile.)
func matchProfiles(ctx context.Context, run Runner, f *api.ScanFound, plans map[string]*profile.Plan, profiles *profile.Set) error {
	var cands []candidate
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p, _ := profiles.Get(name)
		var c candidate
		var ok bool
		err := run(ctx, func(ctx context.Context, tr transport.Transport) error {
			c, ok = probeProfile(ctx, tr, f.Slave, p, plans[name])
			return nil
		})
		if err != nil {
			return err
		}
		if ok {
			cands = append(cands, c)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.points != b.points {
			return a.points > b.points
		}
		return a.nonzero > b.nonzero
	})
	for _, c := range cands {
		f.Candidates = append(f.Candidates, c.name)
	}
	if len(cands) > 0 {
		f.Profile, f.Confidence = cands[0].name, "probe"
	}
	return ctx.Err()
}

// probeProfile reads plan from slave and checks the values (see
// matchProfiles).
func probeProfile(ctx context.Context, tr transport.Transport, slave int, p *profile.Profile, plan *profile.Plan) (candidate, bool) {
	c := candidate{name: p.Name}
	if tr == nil {
		return c, false
	}
	responses := make([][]byte, len(plan.Requests))
	for i, r := range plan.Requests {
		data, err := tr.Read(ctx, uint8(slave), r.FC, r.Address, r.Count)
		if err != nil {
			return c, false
		}
		responses[i] = data
	}
	samples, err := plan.Decode(responses)
	if err != nil {
		return c, false
	}
	for _, s := range samples {
		pt := p.Point(s.Point)
		if pt == nil || !plausible(pt, s) {
			return c, false
		}
		c.points++
		if s.Value != 0 && !s.Absent {
			c.nonzero++
		}
	}
	return c, true
}

// plausible reports whether a probed value of pt looks like what such a
// device reports.
func plausible(pt *profile.Point, s profile.Sample) bool {
	v := s.Value
	switch {
	case s.Absent:
		return true
	case math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6:
		return false
	case (pt.Type == "f32" || pt.Type == "f64") && v != 0 && math.Abs(v) < 1e-6:
		return false
	case len(pt.Bits) > 0:
		scale := pt.Scale
		if scale == 0 {
			scale = 1
		}
		raw := uint64(math.Round((v - pt.Offset) / scale))
		for bit := range 64 {
			if raw&(1<<bit) != 0 {
				if _, named := pt.Bits[bit]; !named {
					return false
				}
			}
		}
	}
	return true
}
