package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

func newStationServeCmd() *cobra.Command {
	var o serve.Options
	c := &cobra.Command{
		Use:   "serve --broker URL --db FILE [--township CODE] [--listen ADDR]",
		Short: "The station service: keep every event, work orders 待处置 → 已复核, watchdog, JSON API (docs/station.md)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.Broker == "" || o.DB == "" {
				return usage(errors.New("station serve: --broker URL and --db FILE are required"))
			}
			if o.Password == "" {
				o.Password = os.Getenv("FENGHUO_STATION_PASSWORD")
			}
			o.Log = c.ErrOrStderr()
			err := serve.Run(c.Context(), o)
			if err != nil && !errors.Is(err, context.Canceled) {
				return failed(err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Broker, "broker", "", "broker URL, e.g. tcp://127.0.0.1:1883")
	f.StringVar(&o.Username, "username", "", "broker user name")
	f.StringVar(&o.Password, "password", "", "broker password (or FENGHUO_STATION_PASSWORD)")
	f.StringVar(&o.DB, "db", "", "station database (SQLite file)")
	f.StringVar(&o.Township, "township", "", "township code (default: all townships, +)")
	f.StringVar(&o.TopicPrefix, "prefix", "fenghuo/v1", "topic prefix")
	f.StringVar(&o.ClientID, "client-id", "", "fixed MQTT client id of the persistent session (default fenghuo-station-<township>)")
	f.StringVar(&o.Share, "share", "", "subscribe as $share/GROUP/… (several instances split the feed)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "HTTP API address (beyond loopback only with TLS or --insecure-listen)")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file for the API")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS key file for the API")
	f.BoolVar(&o.InsecureListen, "insecure-listen", false, "allow a non-loopback --listen without TLS (behind a TLS proxy)")
	f.DurationVar(&o.Heartbeat, "heartbeat-timeout", 0, "no status for this long raises 网关失联 (default 90s)")
	f.DurationVar(&o.GapAlarm, "gap-alarm", 0, "a seq gap open this long raises 数据缺失 (default 5m)")
	f.StringVar(&o.KeyDir, "key-dir", "", "directory of GATEWAY.key command keys: acks to those gateways are signed")
	f.StringVar(&o.Webhook, "webhook", "", "POST every stored ticket event to this https URL, in order, at least once (docs/station.md)")
	f.StringVar(&o.WebhookSecretFile, "webhook-secret-file", "", "file holding the key of the webhook's X-Fenghuo-Signature (HMAC-SHA256)")
	return c
}

func newStationUserCmd() *cobra.Command {
	var db string
	c := &cobra.Command{Use: "user", Short: "Accounts of the station service", Args: cobra.ArbitraryArgs, RunE: needCommand}
	add := &cobra.Command{
		Use:   "add NAME --db FILE",
		Short: "Create an account (or reset its password); the password is read from stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprint(c.ErrOrStderr(), "password: ")
			line, err := bufio.NewReader(c.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return usage(fmt.Errorf("station user add: no password on stdin: %w", err))
			}
			if err := serve.AddUser(c.Context(), db, args[0], strings.TrimRight(line, "\r\n")); err != nil {
				return failed(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "user %s saved in %s\n", args[0], db)
			return nil
		},
	}
	token := &cobra.Command{
		Use:   "token NAME --db FILE",
		Short: "Create an API token for an account (shown once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			tok, err := serve.NewToken(c.Context(), db, args[0])
			if err != nil {
				return failed(err)
			}
			fmt.Fprintln(c.OutOrStdout(), tok)
			return nil
		},
	}
	c.PersistentFlags().StringVar(&db, "db", "station.db", "station database (SQLite file)")
	c.AddCommand(add, token)
	return c
}
