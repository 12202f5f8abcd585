package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
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

// storageState is the daemon's view of storage faults; guarded by l.mu.
type storageState struct {
	imported        int       // events imported from the fallback file at start
	fallbackPending bool      // the fallback file is kept until its events are stored
	fileErr         error     // the outbox file check's verdict (nil: fine)
	fileErrSince    time.Time // when fileErr began
	fileCheckedAt   time.Time
}

// fallbackPath is buffer.fallback_path, or the default beside the outbox.
func (l *Loop) fallbackPath() string {
	if p := l.cfg.Buffer.FallbackPath; p != "" {
		return p
	}
	return l.cfg.Buffer.Path + ".fallback.jsonl"
}

// importFallback imports the fallback file, if any. A file that cannot be
// read is moved aside, loudly: it never stops the gateway from starting.
func (l *Loop) importFallback(ctx context.Context) {
	path := l.fallbackPath()
	recs, err := readFallback(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err == nil && len(recs) > 0 {
		err = l.guard.Restore(ctx, recs...)
	}
	switch {
	case err == nil:
		if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			l.log.Error("fallback file imported but not removed; it will be imported again (harmless: restore is idempotent)", "file", path, "err", rmErr)
		}
	case errors.Is(err, outbox.ErrNotDurable):
		// The store still refuses: the events wait in memory (and are
		// published); the file stays until they are stored.
		l.storage.fallbackPending = true
	default:
		aside := fmt.Sprintf("%s.bad-%s", path, time.Now().UTC().Format("20060102T150405"))
		l.log.Error("FALLBACK FILE UNREADABLE: the events a stop wrote during a storage fault cannot be imported; file moved aside for an operator",
			"file", path, "moved_to", aside, "err", err)
		if mvErr := os.Rename(path, aside); mvErr != nil {
			l.log.Error("fallback file not moved aside", "file", path, "err", mvErr)
		}
		return
	}
	l.storage.imported = len(recs)
	open := outbox.OpenFromHistory(recs)
	restored := make([]rules.OpenHazard, 0, len(open))
	for _, o := range open {
		restored = append(restored, rules.OpenHazard{Device: o.Device, Rule: o.Rule, TicketID: o.TicketID, Level: o.Level, Since: o.Since})
	}
	l.rules.Restore(restored)
	l.log.Warn("imported the events the last stop wrote to the fallback file during a storage fault",
		"file", path, "events", len(recs), "open_hazards", len(restored), "stored", err == nil)
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
		l.log.Error("STORAGE FAULT: the outbox file is not the one the gateway opened (deleted or replaced); events are still published, but a restart would lose the history", "path", l.cfg.Buffer.Path, "err", err)
	case err == nil && l.storage.fileErr != nil:
		l.log.Info("outbox file check passes again", "path", l.cfg.Buffer.Path)
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

// SpillUnstored writes what the store never took to the fallback file (at
// stop, after the link stopped).
func (l *Loop) SpillUnstored() {
	recs := l.guard.Unstored()
	if len(recs) == 0 {
		return
	}
	path := l.fallbackPath()
	unsent := 0
	for _, r := range recs {
		if r.SentAt.IsZero() {
			unsent++
		}
	}
	if err := writeFallback(path, recs); err != nil {
		l.log.Error("EVENTS LOST: the outbox refuses writes and the fallback file cannot be written either",
			"events", len(recs), "undelivered", unsent, "file", path, "err", err)
		return
	}
	l.log.Error("STORAGE FAULT at stop: the events the outbox could not store are written to the fallback file; the next start imports them first",
		"events", len(recs), "undelivered", unsent, "file", path)
}

// fallbackRecord is one line of the fallback file.
type fallbackRecord struct {
	Seq       uint64    `json:"seq"`
	EventID   string    `json:"event_id,omitempty"`
	TicketID  string    `json:"ticket_id,omitempty"`
	State     string    `json:"state,omitempty"`
	Hazard    string    `json:"hazard,omitempty"`
	Rule      string    `json:"rule,omitempty"`
	Device    string    `json:"device,omitempty"`
	Level     int       `json:"level,omitempty"`
	Priority  int       `json:"priority"`
	Payload   []byte    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

// writeFallback writes recs as JSON lines to path atomically
// (atomicfile: a temporary file fsynced, renamed, the directory fsynced).
func writeFallback(path string, recs []outbox.Record) error {
	return atomicfile.Write(path, 0o600, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(fallbackRecord{Seq: r.Seq, EventID: r.EventID, TicketID: r.TicketID, State: r.State, Hazard: r.Hazard,
				Rule: r.Rule, Device: r.Device, Level: r.Level, Priority: r.Priority, Payload: r.Payload,
				CreatedAt: r.CreatedAt, SentAt: r.SentAt}); err != nil {
				return err
			}
		}
		return nil
	})
}

// readFallback reads a fallback file (os.ErrNotExist when there is none).
func readFallback(path string) ([]outbox.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFallbackBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fallback file %s: %w", path, err)
	}
	if len(data) > maxFallbackBytes {
		return nil, fmt.Errorf("fallback file %s: larger than %d bytes", path, maxFallbackBytes)
	}
	var recs []outbox.Record
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var fr fallbackRecord
		if err := json.Unmarshal(line, &fr); err != nil {
			return nil, fmt.Errorf("fallback file %s line %d: %w", path, i+1, err)
		}
		recs = append(recs, outbox.Record{Seq: fr.Seq, EventID: fr.EventID, TicketID: fr.TicketID, State: fr.State, Hazard: fr.Hazard,
			Rule: fr.Rule, Device: fr.Device, Level: fr.Level, Priority: fr.Priority, Payload: fr.Payload,
			CreatedAt: fr.CreatedAt, SentAt: fr.SentAt})
	}
	return recs, nil
}

// FallbackImported is how many events the start imported from the
// fallback file.
func (l *Loop) FallbackImported() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storage.imported
}
