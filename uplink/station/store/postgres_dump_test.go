package store_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/storetest"
)

// TestPostgresDumpRestore: the backup of docs/station.md (pg_dump
// --format=custom, pg_restore into an empty database) gives a database the
// station opens with the same events, gaps and orders.
func TestPostgresDumpRestore(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Config{})
	src := srv.NewDatabase(t)
	st := openPG(t, src)
	ctx := context.Background()
	if _, err := st.Ingest(ctx, []store.Message{storetest.Event(1, "open", "T1", 2), storetest.Event(5, "open", "T2", 1)}); err != nil {
		t.Fatal(err)
	}
	want, err := st.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "station.dump")
	if out, err := exec.Command(filepath.Join(srv.BinDir(), "pg_dump"), "--format=custom", "--file="+dump, src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	dst := srv.NewDatabase(t)
	if out, err := exec.Command(filepath.Join(srv.BinDir(), "pg_restore"), "--dbname="+dst, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	got, err := openPG(t, dst).Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || got.Events != 2 || got.OpenGaps != 1 || got.OpenOrders != 2 {
		t.Fatalf("restored counts %+v, want %+v (2 events, 1 open gap, 2 open orders)", got, want)
	}
}
