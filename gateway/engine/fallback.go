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

// The fallback file (buffer.fallback_path): what a stop during a storage
// fault could not store, as JSON lines; the next start imports it before
// anything else (storage.go).

// fallbackPath is buffer.fallback_path, or the default beside the outbox.
func (l *Loop) fallbackPath() string {
	if p := l.Config().Buffer.FallbackPath; p != "" {
		return p
	}
	return l.Config().Buffer.Path + ".fallback.jsonl"
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
	l.Rules().Restore(restored)
	l.log.Warn("imported the events the last stop wrote to the fallback file during a storage fault",
		"file", path, "events", len(recs), "open_hazards", len(restored), "stored", err == nil)
}

// FallbackImported is how many events the start imported from the
// fallback file.
func (l *Loop) FallbackImported() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.storage.imported
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
