package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/storetest"
)

// gwEvent is storetest.Event moved to gateway gw, ticket episode ep.
func gwEvent(gw string, seq uint64, state, ep string) store.Message {
	m := storetest.Event(seq, state, ep, 2)
	tk := *m.Ticket
	tk.Gateway.ID, tk.EventID = gw, fmt.Sprintf("ev-%s-%d", gw, seq)
	tk.TicketID = gw + "/smoke-1/R1/" + ep
	p, err := tk.Marshal()
	if err != nil {
		panic(err)
	}
	m.Gateway, m.Topic, m.Payload, m.Ticket = gw, "fenghuo/v1/330502103/"+gw+"/tickets", p, &tk
	return m
}

// TestPostgresConcurrentInstances: three stores (three instances' pools)
// ingest the same events, each delivered twice, shuffled, in random
// batches, at the same time. Every event is stored once, every gap the
// shuffle opened is closed, every ticket has one order with all its events.
func TestPostgresConcurrentInstances(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Config{})
	url := srv.NewDatabase(t)
	insts := []*store.Postgres{openPG(t, url), openPG(t, url), openPG(t, url)}
	const gws, seqs, perTicket = 4, 150, 5
	var all []store.Message
	for g := range gws {
		for s := uint64(1); s <= seqs; s++ {
			state := "escalate"
			if s%perTicket == 1 {
				state = "open"
			}
			m := gwEvent(fmt.Sprintf("gw-%d", g), s, state, fmt.Sprintf("T%d", (s-1)/perTicket))
			all = append(all, m, m)
		}
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	batches := make(chan []store.Message)
	go func() {
		defer close(batches)
		for rest := all; len(rest) > 0; {
			n := min(len(rest), 1+rand.IntN(30))
			batches <- rest[:n]
			rest = rest[n:]
		}
	}()
	var wg sync.WaitGroup
	for _, st := range insts {
		wg.Go(func() {
			for b := range batches {
				if _, err := st.Ingest(context.Background(), b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	c, err := insts[0].Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Events != gws*seqs || c.Duplicates != gws*seqs || c.OpenGaps != 0 || c.OpenOrders != gws*seqs/perTicket {
		t.Fatalf("counts %+v, want %d events, as many duplicates, no open gap, %d open orders", c, gws*seqs, gws*seqs/perTicket)
	}
	checkOrders(t, insts[1], perTicket)
}

func checkOrders(t *testing.T, st store.Store, perTicket int) {
	t.Helper()
	ctx := context.Background()
	os, err := st.OpenOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		_, steps, evs, err := st.Order(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != perTicket || len(steps) != 1 {
			t.Fatalf("order %s: %d events and %d steps, want %d and 1 (open)", o.TicketID, len(evs), len(steps), perTicket)
		}
	}
}

// TestPostgresConcurrentApplyAndWatch: eight people acknowledging one
// order through three instances at once make one step; three watchdogs
// judging one gateway lost at once raise one 网关失联 order.
func TestPostgresConcurrentApplyAndWatch(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Config{})
	url := srv.NewDatabase(t)
	insts := []*store.Postgres{openPG(t, url), openPG(t, url), openPG(t, url)}
	ctx := context.Background()
	if _, err := insts[0].Ingest(ctx, []store.Message{gwEvent("gw-1", 1, "open", "T1")}); err != nil {
		t.Fatal(err)
	}
	os, err := insts[0].OpenOrders(ctx)
	if err != nil || len(os) != 1 {
		t.Fatalf("orders %v, %v: want one", os, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 8 {
		wg.Go(func() {
			_, err := insts[i%3].Apply(ctx, store.Transition{OrderID: os[0].ID, Action: store.ActAcknowledge, By: fmt.Sprintf("u%d", i), At: time.Now()})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrTransition):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, steps, _, err := insts[2].Order(ctx, os[0].ID)
	if err != nil || ok != 1 || refused != 7 || len(steps) != 2 {
		t.Fatalf("%d acknowledged, %d refused, steps %+v (%v): want 1, 7, open+acknowledge", ok, refused, steps, err)
	}
	for i, st := range insts {
		wg.Go(func() {
			w := store.Watch{At: time.Now().Add(time.Duration(i) * time.Millisecond), Lost: map[string]string{"gw-1": "no heartbeat"}}
			if err := st.Watch(ctx, w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	os, err = insts[1].OpenOrders(ctx)
	lost := 0
	for _, o := range os {
		lost += boolN(o.Origin == store.OriginLost)
	}
	if err != nil || lost != 1 {
		t.Fatalf("%d 网关失联 orders (%v), want 1: %+v", lost, err, os)
	}
}

func boolN(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPostgresMigrate: instances starting together on an empty database
// create the schema once; a database of a newer schema is refused.
func TestPostgresMigrate(t *testing.T) {
	srv := pgtest.Start(t, pgtest.Config{})
	url := srv.NewDatabase(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			st, err := store.OpenPostgres(url)
			if err != nil {
				t.Error(err)
				return
			}
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, v int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM station_schema`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != store.SchemaVersion || v != store.SchemaVersion {
		t.Fatalf("station_schema: %d rows, version %d; want %d migrations applied once", n, v, store.SchemaVersion)
	}
	if _, err := db.Exec(`INSERT INTO station_schema(version, applied_ms) VALUES(99, 0)`); err != nil {
		t.Fatal(err)
	}
	_, err = store.OpenPostgres(url)
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Fatalf("open of a newer schema: %v, want a refusal naming version 99", err)
	}
}
