package station

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// AckWait sends the ack like [Ack] and waits, until ctx is done, for the
// gateway's reply on P/T/G/reply: nil when the gateway recorded it, an
// error with the gateway's reason when it refused it (e.g. an unknown
// ticket id). A gateway offline gets the ack from its persistent session
// when it reconnects, as long as the broker keeps it; give ctx a deadline
// and send again on timeout.
func AckWait(ctx context.Context, broker, prefix, township, gateway, ticketID, by string) (downlink.Reply, error) {
	return AckWaitSigned(ctx, broker, prefix, township, gateway, ticketID, by, nil)
}

// AckWaitSigned is [AckWait] with the command signed with key (see
// docs/tickets.md §6) when key is not empty.
func AckWaitSigned(ctx context.Context, broker, prefix, township, gateway, ticketID, by string, key []byte) (downlink.Reply, error) {
	if township == "" || gateway == "" || ticketID == "" || strings.ContainsAny(township+gateway, "+#/") {
		return downlink.Reply{}, errors.New("station: ack needs a township code, a gateway id (no wildcards) and a ticket id")
	}
	tp := ticket.Topics{Prefix: prefix, Township: township, Gateway: gateway}
	cmd := downlink.Command{ID: randomHex(8), Cmd: downlink.CmdAck, TicketID: ticketID, By: by, TS: ticket.FormatTime(time.Now())}
	payload, err := cmd.Marshal()
	if err != nil {
		return downlink.Reply{}, err
	}
	if len(key) > 0 {
		if payload, err = downlink.Sign(key, tp.Cmd(), payload); err != nil {
			return downlink.Reply{}, err
		}
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("fenghuo-ack-" + randomHex(6)).SetCleanSession(true))
	if err := wait(ctx, c.Connect()); err != nil {
		return downlink.Reply{}, fmt.Errorf("station: connect %s: %w", broker, err)
	}
	defer c.Disconnect(250)
	replies := make(chan downlink.Reply, 4)
	if err := wait(ctx, c.Subscribe(tp.Reply(), 1, func(_ paho.Client, m paho.Message) {
		if r, err := downlink.ParseReply(m.Payload()); err == nil && r.ID == cmd.ID {
			select {
			case replies <- r:
			default:
			}
		}
	})); err != nil {
		return downlink.Reply{}, fmt.Errorf("station: subscribe %s: %w", tp.Reply(), err)
	}
	if err := wait(ctx, c.Publish(tp.Cmd(), 1, false, payload)); err != nil {
		return downlink.Reply{}, fmt.Errorf("station: publish %s: %w", tp.Cmd(), err)
	}
	select {
	case r := <-replies:
		if !r.OK {
			return r, fmt.Errorf("station: gateway %s refused the ack: %s", gateway, r.Error)
		}
		return r, nil
	case <-ctx.Done():
		return downlink.Reply{}, fmt.Errorf("station: no reply from gateway %s (offline?): %w", gateway, ctx.Err())
	}
}
