package engine

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Storage faults (issue 15). Every append goes through an outbox.Guard: when
// the SQLite store refuses writes (a full disk, an I/O error), the events
// are numbered as usual, kept in a bounded memory queue and published at
// once ("durable": false), and stored as soon as the store accepts writes
// (retried every second). The status, diag status and the metrics say so
// at once; after storageFaultAfter the gateway's R29 ticket (storage_fault,
// 存储故障) opens, and it clears once the store takes writes again.
//
// A stop (SIGTERM) during the fault waits up to StopWaitStored for the
// store, then writes what is still only in memory to the fallback file
// (buffer.fallback_path), which the next start imports before anything
// else. A crash (SIGKILL, power loss) loses what was never stored.

const (
	// storageFaultAfter is how long the store must refuse before R29 opens
	// (a single slow commit is not a fault).
	storageFaultAfter = 3 * time.Second
	// StopWaitStored bounds how long a stop waits for the store to take
	// the events kept in memory.
	StopWaitStored = 5 * time.Second
	// commitTimeout bounds one append.
	commitTimeout = 10 * time.Second
	// checkFileEvery is how often the outbox file is checked (a deleted or
	// replaced database is a storage fault).
	checkFileEvery = 10 * time.Second
	// maxFallbackBytes bounds the fallback file read at start (the memory
	// queue it was written from is bounded far below).
	maxFallbackBytes = 256 << 20
)

// storageState is the loop's view of storage faults; guarded by Loop.mu.
type storageState struct {
	imported        int       // events imported from the fallback file at start
	fallbackPending bool      // the fallback file is kept until its events are stored
	fileErr         error     // the outbox file check's verdict (nil: fine)
	fileErrSince    time.Time // when fileErr began
	fileCheckedAt   time.Time
}

// retryStorage (rule loop, every second) restores the memory queue, drops
// the imported fallback file once its events are stored, and checks the
// outbox file now and then.
func (l *Loop) retryStorage(ctx context.Context, now time.Time) {
	gs := l.guard.GuardStats()
	if gs.NotDurable > 0 || gs.Unmarked > 0 {
		rctx, cancel := context.WithTimeout(ctx, commitTimeout)
		if l.guard.Retry(rctx) == nil {
			l.opts.Notify()
		}
		cancel()
		gs = l.guard.GuardStats()
	}
	l.mu.Lock()
	pending, checkedAt := l.storage.fallbackPending, l.storage.fileCheckedAt
	l.mu.Unlock()
	if pending && gs.NotDurable == 0 {
		path := l.fallbackPath()
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Error("fallback file not removed after its events were stored", "file", path, "err", err)
		} else {
			l.log.Info("the events of the fallback file are stored; file removed", "file", path)
		}
		l.mu.Lock()
		l.storage.fallbackPending = false
		l.mu.Unlock()
	}
	if now.Sub(checkedAt) >= l.opts.CheckFileEvery {
		l.checkFile(now)
	}
}

// checkFile asks the store whether its file is still there.
func (l *Loop) checkFile(now time.Time) {
	err := l.opts.Store.CheckFile()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.storage.fileCheckedAt = now
	switch {
	case err != nil && l.storage.fileErr == nil:
		l.storage.fileErrSince = now
		l.log.Error("STORAGE FAULT: the outbox file is not the one the gateway opened (deleted or replaced); events are still published, but a restart would lose the history", "path", l.Config().Buffer.Path, "err", err)
	case err == nil && l.storage.fileErr != nil:
		l.log.Info("outbox file check passes again", "path", l.Config().Buffer.Path)
		l.storage.fileErrSince = time.Time{}
	}
	l.storage.fileErr = err
}

// StorageFault: the store refuses writes or its file is gone (status,
// diag, metrics: at once).
func (l *Loop) StorageFault(now time.Time) bool {
	if l.guard.GuardStats().Failing() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storage.fileErr != nil
}

// storageFaultRaised is R29's verdict: the store has refused writes for
// storageFaultAfter, or its file is gone.
func (l *Loop) storageFaultRaised(now time.Time) bool {
	gs := l.guard.GuardStats()
	if gs.Failing() && now.Sub(gs.FailingSince) >= storageFaultAfter {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storage.fileErr != nil
}

// StorageFileSince is when the outbox file check began failing.
func (l *Loop) StorageFileSince() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storage.fileErrSince
}

// StorageError says why storage is failing ("" when it is not).
func (l *Loop) StorageError(gs outbox.GuardStats) string {
	if gs.LastError != "" {
		return gs.LastError
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.storage.fileErr != nil {
		return l.storage.fileErr.Error()
	}
	return ""
}

// AwaitStored gives the store up to limit to take the events kept in
// memory (a stop during a storage fault).
func (l *Loop) AwaitStored(limit time.Duration) {
	gs := l.guard.GuardStats()
	if gs.NotDurable == 0 && gs.Unmarked == 0 {
		return
	}
	l.log.Warn("stopping during a storage fault: waiting for the outbox to take the events kept in memory", "events", gs.NotDurable, "up_to", limit)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if l.guard.Retry(ctx) == nil {
			l.log.Info("the events kept in memory are stored")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
