package store_test

import (
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/storetest"
)

// TestPostgres runs the conformance suite against the PostgreSQL backend,
// one fresh database per case on a server started by the test.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Config{})
	storetest.Run(t, func(t *testing.T) store.Store {
		return openPG(t, srv.NewDatabase(t))
	})
}

func openPG(t testing.TB, url string) *store.Postgres {
	t.Helper()
	st, err := store.OpenPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}
