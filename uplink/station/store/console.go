package store

import "context"

// HasUsers reports whether any account exists; the station's console
// offers the first account on the first visit from loopback only while
// there is none. Both backends have it.
func (s *sqlStore) HasUsers(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM users LIMIT 1) AS u`).Scan(&n)
	return n == 1, err
}
