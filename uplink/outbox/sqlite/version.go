package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// VersionError says the outbox file was written by a newer fenghuo: its
// schema version is above the one this binary knows. The file is left
// untouched; run the newer binary, or move the file aside to start a fresh
// outbox (its unsent events are then not forwarded).
type VersionError struct {
	Path           string
	Version, Known int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("outbox %s has schema version %d, newer than this fenghuo knows (%d): it was written by a newer release; refusing to open it (run that release, or move the file aside to start an empty outbox)", e.Path, e.Version, e.Known)
}

// readVersion returns the schema version of the database: PRAGMA
// user_version (version 4 on), else the schema_version table (versions 1
// to 3), else what the tables present show (a file whose version record
// was lost), 0 for an empty file. It creates the schema_version table the
// migrations write.
func readVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var uv int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&uv); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return 0, err
	}
	if uv > 0 {
		return uv, nil
	}
	var v int
	err := tx.QueryRowContext(ctx, `SELECT max(version) FROM schema_version HAVING count(*) > 0`).Scan(&v)
	switch {
	case err == nil:
		return v, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	for _, t := range []struct {
		table   string
		version int
	}{{"meta", 3}, {"acks", 2}, {"records", 1}} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, t.table).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 {
			return t.version, nil
		}
	}
	return 0, nil
}
