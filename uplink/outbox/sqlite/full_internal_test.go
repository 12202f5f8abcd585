package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestFullOutbox: when the database cannot grow (SQLITE_FULL, here through
// max_page_count on the store's single connection, as a full disk would),
// Append fails with an error wrapping outbox.ErrFull that names the file,
// what is stored still drains, and Append works again once there is room.
// Concurrent appenders hitting the full database each get ErrFull or
// success, and exactly the successful ones are stored, without a seq gap.
func TestFullOutbox(t *testing.T) {
	for _, noGroup := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_group_commit=%v", noGroup), func(t *testing.T) { testFull(t, noGroup) })
	}
}

func testFull(t *testing.T, noGroup bool) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, Options{NoGroupCommit: noGroup})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := func(i int) outbox.Record {
		return outbox.Record{EventID: "ev-" + strings.Repeat("x", 8) + string(rune('a'+i%26)) + time.Now().Format("150405.000000000"),
			TicketID: "t", State: "open", Hazard: "smoke_fire_alarm", Rule: "R1", Device: "d", Level: 1,
			Payload: []byte(`{"pad":"` + strings.Repeat("p", 3000) + `"}`), CreatedAt: time.Now()}
	}
	if _, err := s.Append(ctx, rec(0)); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`PRAGMA max_page_count = ` + strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 1; i < 50 && full == nil; i++ {
		_, full = s.Append(ctx, rec(i))
	}
	if !errors.Is(full, outbox.ErrFull) || !strings.Contains(full.Error(), path) {
		t.Fatalf("append into a full database: %v; want an error wrapping outbox.ErrFull naming %s", full, path)
	}
	before, err := s.Pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := map[uint64]bool{}
	for i := range 8 {
		wg.Go(func() {
			out, err := s.Append(ctx, rec(100+i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				stored[out[0].Seq] = true
			case !errors.Is(err, outbox.ErrFull):
				t.Errorf("concurrent append into a full database: %v; want nil or ErrFull", err)
			}
		})
	}
	wg.Wait()
	pending, err := s.Pending(ctx, 0)
	if err != nil || len(pending) == 0 {
		t.Fatalf("pending while full: %d records, %v", len(pending), err)
	}
	for i, r := range pending {
		if r.Seq != uint64(i+1) {
			t.Fatalf("pending #%d has seq %d: a failed batch left a gap or a half-commit", i, r.Seq)
		}
		if i >= len(before) && !stored[r.Seq] {
			t.Fatalf("seq %d is stored but no Append succeeded with it", r.Seq)
		}
	}
	if len(pending) != len(before)+len(stored) {
		t.Fatalf("%d records stored, want %d before plus %d successful appends", len(pending), len(before), len(stored))
	}
	if err := s.MarkSent(ctx, time.Now(), pending[0].Seq); err != nil {
		t.Fatalf("mark sent while full: %v", err)
	}
	if _, err := s.db.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	got, err := s.Append(ctx, rec(99))
	if err != nil {
		t.Fatalf("append after room was made: %v", err)
	}
	if want := pending[len(pending)-1].Seq + 1; got[0].Seq != want {
		t.Fatalf("seq after the full episode = %d, want %d (no gap)", got[0].Seq, want)
	}
}
