package store_test

import (
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/storetest"
)

// TestSQLite runs the conformance suite against the SQLite backend.
func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "station.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
		return st
	})
}
