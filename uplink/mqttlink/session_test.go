package mqttlink_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestAckWhileOfflineArrivesAfterReconnect: with the default persistent
// session, a township ack published to the cmd topic while the gateway is
// offline is queued by the broker and handled when the gateway comes back
// (recorded in the outbox, answered on the reply topic). With a clean
// session the same ack is lost: the ping sent after the reconnect is
// answered, the ack never is (the broker delivers in order, so the ack
// would have been answered first).
func TestAckWhileOfflineArrivesAfterReconnect(t *testing.T) {
	for _, clean := range []bool{false, true} {
		name := "persistent"
		if clean {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			b := mqtttest.StartMosquitto(t)
			reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
			status := mqtttest.Subscribe(t, b.URL(), topics.Status())
			ob := outbox.NewMemory()
			rec, err := ob.Append(context.Background(), record(t, 1, 1))
			if err != nil {
				t.Fatal(err)
			}
			opts := mqttlink.Options{Broker: b.URL(), Outbox: ob, CleanSession: clean}
			_, stop := start(t, opts)
			status.WaitUntil("online", 10*time.Second, hasState("online"))
			stop() // a clean shutdown: the offline status, then DISCONNECT
			status.WaitUntil("offline", 10*time.Second, hasState("offline"))

			send := pub(t, b.URL())
			send(topics.Cmd(), false, []byte(`{"id":"ack-offline","cmd":"ack","ticket_id":"`+rec[0].TicketID+`","by":"织里镇值班员"}`))

			start(t, opts)
			// Online again: subscribed, and anything queued was delivered
			// right after CONNACK, before the online status.
			status.WaitUntil("online again", 10*time.Second, func(msgs []mqtttest.Message) bool {
				return len(msgs) >= 3 && hasState("online")(msgs[len(msgs)-1:])
			})
			send(topics.Cmd(), false, []byte(`{"id":"ping-after","cmd":"ping"}`))
			got := replies(t, reply.WaitUntil("the ping reply", 10*time.Second, hasReplies("ping-after")))
			acks, err := ob.Acks(context.Background(), rec[0].TicketID)
			if err != nil {
				t.Fatal(err)
			}
			r, answered := got["ack-offline"]
			if clean {
				if answered || len(acks) != 0 {
					t.Fatalf("clean session: the offline ack was handled (%+v, %d acks); the test cannot tell the sessions apart", r, len(acks))
				}
				return
			}
			if !answered || !r.OK || r.TicketID != rec[0].TicketID {
				t.Fatalf("the ack sent while offline was not answered after reconnect: %+v (answered %v)", r, answered)
			}
			if len(acks) != 1 || acks[0].By != "织里镇值班员" {
				t.Fatalf("acks recorded = %+v, want the one sent while offline", acks)
			}
		})
	}
}
