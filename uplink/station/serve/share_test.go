package serve_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// TestSharedSubscription: two instances in one --share group (each with
// its own client id and database here) split the feed between them:
// every event is stored by exactly one of them.
func TestSharedSubscription(t *testing.T) {
	b, c1, _ := station(t, serve.Options{Share: "desk", ClientID: "station-1"})
	db2 := filepath.Join(t.TempDir(), "station2.db")
	if err := serve.AddUser(context.Background(), db2, user, password); err != nil {
		t.Fatal(err)
	}
	c2 := signIn(t, service(t, serve.Options{Broker: b.URL(), DB: db2, Share: "desk", ClientID: "station-2"}), user, password)
	p := newPublisher(t, b.URL())
	const n = 40
	for seq := uint64(1); seq <= n; seq++ {
		p.pub(topics.Tickets(), false, payload(t, event(gwID, seq, rules.Open, fmt.Sprintf("20261205T0800%02d.000", seq), 2)))
	}
	poll(t, fmt.Sprintf("%d events over both instances", n), func() bool { return counts(c1).Events+counts(c2).Events == n })
	a, b2 := counts(c1).Events, counts(c2).Events
	t.Logf("instance 1 stored %d, instance 2 stored %d", a, b2)
	if a == 0 || b2 == 0 {
		t.Fatalf("the shared subscription did not split the feed: %d and %d", a, b2)
	}
}
