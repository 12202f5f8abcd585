package station

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

var (
	gatewayIDRE  = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)
	townshipIDRE = regexp.MustCompile(`^\d{9}$`)
)

// ResolveGateway finds where to send a command about ticketID (DESIGN §2,
// `station ack TICKET_ID --broker URL`): the gateway is the ticket id's
// first part, the township the one under which the gateway's retained
// status is published (P/+/G/status). A township or gateway given is
// kept (an override); the broker is asked only when the township is
// missing. It waits for the retained status until ctx is done.
func ResolveGateway(ctx context.Context, broker, prefix, ticketID, township, gateway string) (string, string, error) {
	if gateway == "" {
		gateway, _, _ = strings.Cut(ticketID, "/")
	}
	if !gatewayIDRE.MatchString(gateway) {
		return "", "", fmt.Errorf("station: no gateway id in ticket id %q (want <gateway>/<device>/…), give --gateway", ticketID)
	}
	if township != "" {
		return township, gateway, nil
	}
	filter := ticket.Topics{Prefix: prefix, Township: "+", Gateway: gateway}.Status()
	found := make(chan string, 1)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("fenghuo-resolve-" + randomHex(6)).SetCleanSession(true))
	if err := wait(ctx, c.Connect()); err != nil {
		return "", "", fmt.Errorf("station: connect %s: %w", broker, err)
	}
	defer c.Disconnect(250)
	if err := wait(ctx, c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		parts := strings.Split(m.Topic(), "/")
		if len(parts) < 3 || !townshipIDRE.MatchString(parts[len(parts)-3]) {
			return
		}
		select {
		case found <- parts[len(parts)-3]:
		default:
		}
	})); err != nil {
		return "", "", fmt.Errorf("station: subscribe %s: %w", filter, err)
	}
	select {
	case t := <-found:
		return t, gateway, nil
	case <-ctx.Done():
		return "", "", fmt.Errorf("station: no retained status of gateway %s on %s (never connected to this broker?); give --township: %w", gateway, filter, ctx.Err())
	}
}
