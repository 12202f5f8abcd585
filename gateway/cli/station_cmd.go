package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
)

func newStationCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "station",
		Short: "The reference township subscriber: watch the ticket feed, send acks",
		Args:  cobra.ArbitraryArgs,
		RunE:  needCommand,
	}
	c.AddCommand(newStationWatchCmd(), newStationAckCmd(), newStationCentreCmd())
	c.AddCommand(newStationServeCmd(), newStationUserCmd())
	return c
}

func newStationWatchCmd() *cobra.Command {
	var o station.Options
	c := &cobra.Command{
		Use:   "watch --broker URL [--township CODE] [--json] [--telemetry]",
		Short: "Print the ticket feed live, with dedup by event_id and seq gap detection",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Broker == "" {
				return usage(errors.New("station watch: --broker URL is required"))
			}
			o.Out = c.OutOrStdout()
			err := station.Watch(c.Context(), o)
			if err != nil && !errors.Is(err, context.Canceled) {
				return failed(err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Broker, "broker", "", "broker URL, e.g. tcp://127.0.0.1:1883")
	f.StringVar(&o.Township, "township", "", "township code to watch (default: all townships)")
	f.StringVar(&o.TopicPrefix, "prefix", "fenghuo/v1", "topic prefix")
	f.BoolVar(&o.JSON, "json", false, "print each ticket as one JSON line")
	f.BoolVar(&o.Telemetry, "telemetry", false, "also subscribe P/T/+/telemetry and print each telemetry message")
	return c
}

func newStationAckCmd() *cobra.Command {
	var broker, prefix, township, gateway, by, keyFile string
	var wait time.Duration
	c := &cobra.Command{
		Use:   "ack TICKET_ID --broker URL [--township CODE] [--gateway ID] [--by NAME] [--key-file FILE]",
		Short: "Acknowledge a ticket (downlink cmd ack)",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usage(errors.New("station ack: exactly one TICKET_ID is required"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if broker == "" {
				return usage(errors.New("station ack: --broker is required"))
			}
			if strings.ContainsAny(township+gateway, "+#/") {
				return usage(errors.New("station ack: --township and --gateway name one gateway (no MQTT wildcards + # or /)"))
			}
			ctx, cancel := context.WithTimeout(c.Context(), wait)
			defer cancel()
			township, gateway, err := station.ResolveGateway(ctx, broker, prefix, args[0], township, gateway)
			if err != nil {
				return failed(err)
			}
			var key []byte
			if keyFile != "" {
				k, err := downlink.LoadKey(keyFile)
				if err != nil {
					return failed(fmt.Errorf("station ack: --key-file %w", err))
				}
				key = k
			}
			reply, err := station.AckWaitSigned(ctx, broker, prefix, township, gateway, args[0], by, key)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return failed(fmt.Errorf("no reply from gateway %s within %s: is it online? (an ack sent while it is offline is not queued; send it again)", gateway, wait))
				}
				return failed(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "gateway %s recorded the ack of %s by %s\n", gateway, sanitize.Line(reply.TicketID), sanitize.Line(by))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&broker, "broker", "", "broker URL")
	f.StringVar(&prefix, "prefix", "fenghuo/v1", "topic prefix")
	f.StringVar(&township, "township", "", "township code of the gateway (default: from its retained status)")
	f.StringVar(&gateway, "gateway", "", "gateway id (default: from the ticket id)")
	f.StringVar(&by, "by", "station", "who acknowledges")
	f.StringVar(&keyFile, "key-file", "", "sign the ack with the gateway's command key (its uplink.cmd_key_file; mode 600)")
	f.DurationVar(&wait, "wait", 10*time.Second, "how long to wait for the gateway's reply")
	return c
}
