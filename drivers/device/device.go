// Package device reads one device: one sweep of a compiled profile plan
// over a transport. It has no timing policy: when to sweep, how often to
// retry and when a device counts as offline are the scheduler's business
// (gateway/sched).
package device

import (
	"context"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// Reader reads one slave with one plan. It holds no connection: the bus
// owner passes its Transport to every Read. A Reader is immutable and may
// be shared; the Transport is not safe for concurrent use.
type Reader struct {
	Plan  *profile.Plan
	Slave uint8
}

// NewReader returns a Reader of plan for slave.
func NewReader(plan *profile.Plan, slave uint8) *Reader {
	return &Reader{Plan: plan, Slave: slave}
}

// Read runs every request of the plan over tr, in order, and decodes the
// answers into one sample per readable point (profile order). The first
// failed request ends the sweep with an error such as
// "slave 3 fc3 @16+7: modbus exception 2 (illegal data address) to fc3";
// it wraps the transport's error (errors.As *transport.Exception,
// errors.Is transport.ErrTimeout).
func (r *Reader) Read(ctx context.Context, tr transport.Transport) ([]profile.Sample, error) {
	return r.ReadGroups(ctx, tr, nil)
}

// ReadGroups is Read limited to the plan's groups g with due[g] true (nil
// reads them all): the samples are those of the points of these groups,
// in profile order.
func (r *Reader) ReadGroups(ctx context.Context, tr transport.Transport, due []bool) ([]profile.Sample, error) {
	return r.ReadGroupsInto(ctx, tr, due, nil)
}

// ReadGroupsInto is ReadGroups decoding into dst's storage when it is
// large enough (profile.Plan.DecodeInto): a bus owner passes the samples
// of the device's previous read once it is done with them.
func (r *Reader) ReadGroupsInto(ctx context.Context, tr transport.Transport, due []bool, dst []profile.Sample) ([]profile.Sample, error) {
	var buf [8][]byte // most plans have a few requests: no allocation
	responses := buf[:0]
	if len(r.Plan.Requests) > len(buf) {
		responses = make([][]byte, 0, len(r.Plan.Requests))
	}
	responses = responses[:len(r.Plan.Requests)]
	for g, grp := range r.Plan.Groups {
		if due != nil && (g >= len(due) || !due[g]) {
			continue
		}
		for i := grp.First; i < grp.End; i++ {
			req := r.Plan.Requests[i]
			data, err := tr.Read(ctx, r.Slave, req.FC, req.Address, req.Count)
			if err != nil {
				return nil, fmt.Errorf("slave %d fc%d @%d+%d: %w", r.Slave, req.FC, req.Address, req.Count, err)
			}
			responses[i] = data
		}
	}
	samples, err := r.Plan.DecodeInto(dst, responses)
	if err != nil {
		return nil, fmt.Errorf("slave %d: %w", r.Slave, err)
	}
	return samples, nil
}
