package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
)

// TestStart starts a server, creates two databases and queries one.
func TestStart(t *testing.T) {
	s := pgtest.Start(t, pgtest.Config{})
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, "SELECT current_database()").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res[0].Rows[0][0]); got != "t2" {
		t.Fatalf("current_database() = %q, want t2", got)
	}
}
