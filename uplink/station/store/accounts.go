package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrUnknown is returned for an unknown user or secret.
var ErrUnknown = errors.New("unknown or expired")

// PutUser implements [Accounts]: it creates the user or replaces its
// password hash.
func (s *SQLite) PutUser(ctx context.Context, name, hash string, now time.Time) error {
	if name == "" || utf8.RuneCountInString(name) > MaxWho || !utf8.ValidString(name) {
		return fmt.Errorf("%w: user name: 1..%d characters", ErrInput, MaxWho)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users(name, hash, created_ms) VALUES(?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET hash = excluded.hash`, name, hash, ms(now))
	return err
}

// UserHash implements [Accounts].
func (s *SQLite) UserHash(ctx context.Context, name string) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM users WHERE name = ?`, name).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrUnknown
	}
	return h, err
}

// PutSecret implements [Accounts]; expired sessions are removed on the way.
func (s *SQLite) PutSecret(ctx context.Context, sec Secret) error {
	var exp int64
	if !sec.Expires.IsZero() {
		exp = ms(sec.Expires)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM secrets WHERE expires_ms != 0 AND expires_ms < ?`, ms(time.Now())); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO secrets(hash, user, kind, csrf, expires_ms) VALUES(?,?,?,?,?)`, sec.Hash, sec.User, sec.Kind, sec.CSRF, exp)
		return err
	})
}

// LookupSecret implements [Accounts].
func (s *SQLite) LookupSecret(ctx context.Context, hash string, now time.Time) (Secret, error) {
	var sec Secret
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT hash, user, kind, csrf, expires_ms FROM secrets WHERE hash = ?`, hash).
		Scan(&sec.Hash, &sec.User, &sec.Kind, &sec.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Secret{}, ErrUnknown
	}
	if err != nil {
		return Secret{}, err
	}
	if exp != 0 {
		sec.Expires = fromMS(exp)
		if now.After(sec.Expires) {
			return Secret{}, ErrUnknown
		}
	}
	return sec, nil
}

// DropSecret implements [Accounts]: a signed-out session stops working.
func (s *SQLite) DropSecret(ctx context.Context, hash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM secrets WHERE hash = ?`, hash)
	return err
}
