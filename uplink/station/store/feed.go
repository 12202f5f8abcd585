package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FeedEvent is one stored ticket event in the order it was stored: ID
// grows with every event committed, so a consumer that remembers the last
// ID it handled resumes where it stopped.
type FeedEvent struct {
	ID      int64
	EventID string
	Payload []byte // the ticket exactly as received
}

// Feed is implemented by stores whose event ids grow in commit order (the
// SQLite store: one writer). It feeds the webhook (issue 12) with a
// durable cursor per consumer.
type Feed interface {
	// EventsAfter returns up to max events with ID > after, by ID.
	EventsAfter(ctx context.Context, after int64, max int) ([]FeedEvent, error)
	// Cursor returns the consumer's last handled ID (0 when none).
	Cursor(ctx context.Context, name string) (int64, error)
	// SetCursor records the consumer's last handled ID.
	SetCursor(ctx context.Context, name string, id int64) error
}

var _ Feed = (*SQLite)(nil)

const feedSchema = `CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, id INTEGER NOT NULL)`

// EventsAfter implements [Feed].
func (s *SQLite) EventsAfter(ctx context.Context, after int64, max int) ([]FeedEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, event_id, payload FROM events WHERE id > ? ORDER BY id LIMIT ?`, after, max)
	if err != nil {
		return nil, fmt.Errorf("station store: events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []FeedEvent
	for rows.Next() {
		var e FeedEvent
		if err := rows.Scan(&e.ID, &e.EventID, &e.Payload); err != nil {
			return nil, fmt.Errorf("station store: events after %d: %w", after, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cursor implements [Feed].
func (s *SQLite) Cursor(ctx context.Context, name string) (int64, error) {
	if _, err := s.db.ExecContext(ctx, feedSchema); err != nil {
		return 0, fmt.Errorf("station store: cursors: %w", err)
	}
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM cursors WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("station store: cursor %q: %w", name, err)
	}
	return id, nil
}

// SetCursor implements [Feed].
func (s *SQLite) SetCursor(ctx context.Context, name string, id int64) error {
	if _, err := s.db.ExecContext(ctx, feedSchema); err != nil {
		return fmt.Errorf("station store: cursors: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cursors(name, id) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET id = excluded.id`, name, id); err != nil {
		return fmt.Errorf("station store: cursor %q: %w", name, err)
	}
	return nil
}
