package sched

import (
	"context"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// JobFunc is bus work asked by the diagnostic CLI (a raw read, one slave
// of a scan). It runs on the bus's owner goroutine with the bus's
// transport, so the CLI is never a second master on the line. tr is nil
// when the bus could not be opened.
type JobFunc func(ctx context.Context, tr transport.Transport) error

// Job is a JobFunc queued to a bus owner ([Bus.Jobs]) with the channel its
// result goes to. Done must have room for one value: the owner never
// blocks on it.
type Job struct {
	Do   JobFunc
	Done chan<- error
}

// ErrBusStopped is returned by [Do] when the bus owner has stopped.
var ErrBusStopped = errors.New("the bus owner has stopped")

// Do queues fn to the owner reading jobs and waits for its result. If ctx
// ends before the owner takes the job, Do returns ctx's error and fn never
// runs; if it ends while fn runs, fn's context is cancelled and Do still
// waits for fn to return (so nothing fn writes outlives Do), then returns
// ctx's error. Once stopped is closed it returns ErrBusStopped.
//
// Keep fn short — one slave, a few requests: while it runs, polls wait.
// A long piece of work (a scan of 247 ids) is many calls of Do.
func Do(ctx context.Context, jobs chan<- Job, stopped <-chan struct{}, fn JobFunc) error {
	done := make(chan error, 1)
	job := Job{Done: done, Do: func(busCtx context.Context, tr transport.Transport) error {
		jctx, cancel := context.WithCancel(busCtx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		return fn(jctx, tr)
	}}
	select {
	case jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-stopped:
		return ErrBusStopped
	}
	err := <-done // the owner always answers a job it took
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// jobsNow is the job channel Run listens on in a turn whose earliest poll
// is due at next: nil — no job — while a poll that was due when the last
// job ended (lastJob) has not gone yet. So a poll waits for at most one
// job (the one running when it fell due) besides the polls due before it,
// and on a line so busy that a poll is always due, jobs still get one turn
// per round of overdue polls.
func (b *Bus) jobsNow(next, lastJob time.Time) <-chan Job {
	if !next.After(lastJob) {
		return nil
	}
	return b.Jobs
}

// runJob runs one job on the owner goroutine and hands back its result.
// The line is busy meanwhile (Meter).
func (b *Bus) runJob(ctx context.Context, j Job) {
	start := time.Now()
	err := j.Do(ctx, b.Transport)
	end := time.Now()
	b.Meter.noteBusy(end.Sub(start), end)
	j.Done <- err
}

// serveJobs runs jobs until ctx is done: the owner of a bus with no
// device to poll (a fresh line, scanned to find its devices).
func (b *Bus) serveJobs(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case j := <-b.Jobs:
			b.runJob(ctx, j)
		}
	}
}
