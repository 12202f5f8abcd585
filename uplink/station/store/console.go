package store

import "context"

// HasUsers reports whether any account exists; the station's console
// offers the first account on the first visit from loopback only while
// there is none.
func (s *SQLite) HasUsers(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM users)`).Scan(&n)
	return n == 1, err
}
