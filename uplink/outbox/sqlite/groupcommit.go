package sqlite

import (
	"context"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// appendQueue is how many Appends may wait for the writer before Append
// blocks on sending (it then waits for the writer, as it would anyway).
const appendQueue = 1024

// maxBatch bounds the records of one group commit, so one transaction (and
// the memory it holds) stays small even under a flood of appends.
const maxBatch = 4096

// appendReq is one Append waiting for its batch to be committed.
type appendReq struct {
	ctx  context.Context
	recs []outbox.Record
	done chan appendResult // buffered: the writer never blocks on it
}

type appendResult struct {
	recs []outbox.Record
	err  error
}

// writer is the group-commit loop: it takes the first queued Append, adds
// every other one already queued (up to maxBatch records), commits them in
// one transaction and answers each. While it commits, new Appends queue up
// for the next batch, so the batch grows with the load and an Append alone
// is committed at once. It returns after Close closed the queue and every
// queued Append was answered.
func (s *Store) writer() {
	defer close(s.written)
	for req := range s.appends {
		batch := []*appendReq{req}
		n := len(req.recs)
	gather:
		for n < maxBatch {
			select {
			case r, ok := <-s.appends:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				n += len(r.recs)
			default:
				break gather
			}
		}
		s.commitBatch(batch, n)
	}
}

// commitBatch commits the records of every request still wanted in one
// transaction, in queue order, and hands each request its records (with
// seqs, consecutive within a request) or the batch's error.
func (s *Store) commitBatch(batch []*appendReq, n int) {
	all := make([]outbox.Record, 0, n)
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil { // gave up before its batch began
			r.done <- appendResult{err: fmt.Errorf("outbox append: %w", err)}
			continue
		}
		live = append(live, r)
		all = append(all, r.recs...)
	}
	if len(live) == 0 {
		return
	}
	// Not a request's ctx: one appender's cancellation must not fail the
	// others' records.
	out, err := s.commit(context.Background(), all)
	for _, r := range live {
		if err != nil {
			r.done <- appendResult{err: err}
			continue
		}
		r.done <- appendResult{recs: out[:len(r.recs):len(r.recs)]}
		out = out[len(r.recs):]
	}
}
