package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// acker sends the ack downlink of an acknowledged order on the service's
// own MQTT connection.
type acker struct {
	client paho.Client
	prefix string
	keyDir string
}

// send publishes {"id","cmd":"ack","ticket_id","by","ts"} on P/T/G/cmd at
// QoS 1, signed when keyDir holds GATEWAY.key, and waits for the PUBACK.
func (a *acker) send(ctx context.Context, township, gateway, ticketID, by string) error {
	if !townshipRE.MatchString(township) || !gatewayRE.MatchString(gateway) {
		return fmt.Errorf("ack downlink: township %q / gateway %q cannot name a cmd topic", township, gateway)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	topic := ticket.Topics{Prefix: a.prefix, Township: township, Gateway: gateway}.Cmd()
	cmd := downlink.Command{ID: hex.EncodeToString(id), Cmd: downlink.CmdAck, TicketID: ticketID, By: by, TS: ticket.FormatTime(time.Now())}
	payload, err := cmd.Marshal()
	if err != nil {
		return err
	}
	if payload, err = a.sign(topic, gateway, payload); err != nil {
		return err
	}
	tok := a.client.Publish(topic, 1, false, payload)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("ack downlink %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ack downlink %s: no PUBACK: %w", topic, ctx.Err())
	}
}

func (a *acker) sign(topic, gateway string, payload []byte) ([]byte, error) {
	if a.keyDir == "" {
		return payload, nil
	}
	path := filepath.Join(a.keyDir, gateway+".key")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return payload, nil
	}
	key, err := downlink.LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("ack downlink: key %w", err)
	}
	return downlink.Sign(key, topic, payload)
}
