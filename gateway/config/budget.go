package config

import (
	"fmt"
	"io"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/linebudget"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
)

// LineBudgets returns the wire-time budget of every rtu bus (issue 13,
// Build 3): each device's compiled reads at the line's baud and framing,
// against the intervals asked for. A Modbus TCP bus has no line to budget;
// an rtu-over-tcp bus's line sits behind a serial server whose baud the
// config does not know, so it is left out too.
func (c *Config) LineBudgets() ([]linebudget.Budget, error) {
	ps := c.Profiles()
	var out []linebudget.Budget
	for _, b := range c.Buses {
		if b.Type != "rtu" {
			continue
		}
		reads, err := c.busReads(b.Name, ps)
		if err != nil {
			return nil, err
		}
		line := linebudget.Line{Name: b.Name, Baud: b.Baud, DataBits: b.DataBits, Parity: b.Parity, StopBits: b.StopBits, Gap: time.Duration(b.Gap)}
		bud, err := linebudget.Compute(line, reads)
		if err != nil {
			return nil, err
		}
		out = append(out, bud)
	}
	return out, nil
}

// busReads lists the reads of every device on bus, from its compiled plan.
func (c *Config) busReads(bus string, ps *profile.Set) ([]linebudget.Read, error) {
	var reads []linebudget.Read
	for _, d := range c.Devices {
		if d.Bus != bus {
			continue
		}
		p, ok := ps.Get(d.Profile)
		if !ok {
			return nil, fmt.Errorf("device %q: profile %q not found", d.ID, d.Profile)
		}
		plan, err := profile.Compile(p, d.PlanOptions())
		if err != nil {
			return nil, fmt.Errorf("device %q: %w", d.ID, err)
		}
		for i, r := range plan.Requests {
			reads = append(reads, linebudget.Read{
				Device: d.ID, FC: r.FC, Count: r.Count, Interval: plan.Interval(i),
				First: i < plan.Groups[0].End, Turnaround: p.Turnaround,
			})
		}
	}
	return reads, nil
}

// PrintBudgets writes each RS-485 line's load and, above 80 %, the warning
// with the intervals the line can keep (`config check`).
func (c *Config) PrintBudgets(w io.Writer) error {
	buds, err := c.LineBudgets()
	if err != nil {
		return err
	}
	for _, b := range buds {
		for _, l := range b.Report() {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}
