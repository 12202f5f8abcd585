package sqlite_test

import (
	"database/sql"
	"testing"
)

// deleteAll removes every record behind the store's back (as pruning will).
func deleteAll(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM records`); err != nil {
		t.Fatal(err)
	}
}
