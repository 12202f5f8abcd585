package serve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Options configures [Run]. Broker and DB are required.
type Options struct {
	Broker             string
	Username, Password string
	TopicPrefix        string // default "fenghuo/v1"
	Township           string // township code; "" or "+" for all (a county)
	// ClientID is the persistent session's fixed client id (default
	// "fenghuo-station-<township or all>").
	ClientID string
	// Share, when set, subscribes $share/Share/... so that several
	// instances split the feed.
	Share string
	DB    string // SQLite file

	Listen         string // default 127.0.0.1:8080
	TLSCert        string
	TLSKey         string
	InsecureListen bool // allow a non-loopback address without TLS

	Heartbeat  time.Duration // status missing this long → 网关失联; default 90 s
	GapAlarm   time.Duration // gap open this long → 数据缺失; default 5 min
	WatchEvery time.Duration // watchdog period; default 5 s

	// KeyDir holds GATEWAY.key command keys: an ack to a gateway with a
	// key there is signed (docs/tickets.md §6).
	KeyDir string

	// Webhook, when set, is the township platform's URL: every stored
	// ticket event is POSTed to it in store order, at least once
	// (webhook.go). WebhookSecretFile holds the key that signs each body
	// (X-Fenghuo-Signature; the file, not the command line, so the key
	// stays out of ps and shell history).
	Webhook           string
	WebhookSecretFile string

	Log io.Writer // nil: io.Discard
	// Ready, when set, is called once with the API's address after the
	// first subscription is acknowledged and the listener is open.
	Ready func(apiAddr string)
}

func (o *Options) defaults() {
	if o.TopicPrefix == "" {
		o.TopicPrefix = ticket.DefaultPrefix
	}
	if o.Township == "" {
		o.Township = "+"
	}
	if o.ClientID == "" {
		name := o.Township
		if name == "+" {
			name = "all"
		}
		o.ClientID = "fenghuo-station-" + name
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8080"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 90 * time.Second
	}
	if o.GapAlarm <= 0 {
		o.GapAlarm = 5 * time.Minute
	}
	if o.WatchEvery <= 0 {
		o.WatchEvery = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// check validates the options, every problem at once.
func (o *Options) check() error {
	var errs []error
	if o.Broker == "" {
		errs = append(errs, errors.New("station serve: --broker URL is required"))
	}
	if o.DB == "" {
		errs = append(errs, errors.New("station serve: --db FILE is required"))
	}
	if strings.HasPrefix(o.DB, "postgres://") || strings.HasPrefix(o.DB, "postgresql://") {
		errs = append(errs, errors.New("station serve: --db postgres://… is not built yet; use a SQLite file"))
	}
	if o.Township != "+" && !townshipRE.MatchString(o.Township) {
		errs = append(errs, fmt.Errorf("station serve: --township %q: a 9-digit township code, or + for all", o.Township))
	}
	if strings.ContainsAny(o.Share, "+#/") {
		errs = append(errs, fmt.Errorf("station serve: --share %q: a group name without + # or /", o.Share))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		errs = append(errs, errors.New("station serve: --tls-cert and --tls-key go together"))
	}
	if err := CheckListen(o.Listen, o.TLSCert != "", o.InsecureListen); err != nil {
		errs = append(errs, err)
	}
	if o.Webhook != "" {
		if err := checkWebhookURL(o.Webhook); err != nil {
			errs = append(errs, fmt.Errorf("station serve: %w", err))
		}
	}
	return errors.Join(errs...)
}

// CheckListen refuses an address beyond loopback unless the API is served
// over TLS or insecure is set explicitly.
func CheckListen(addr string, tls, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("station serve: --listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if tls || insecure {
		return nil
	}
	return fmt.Errorf("station serve: --listen %q is not a loopback address: passwords and sessions would cross the network in clear; give --tls-cert/--tls-key, or --insecure-listen if a proxy in front terminates TLS", addr)
}

// topics are the subscriptions: tickets, status and telemetry of the
// township, each under $share/GROUP/ with Share.
func (o *Options) topics() []string {
	tp := ticket.Topics{Prefix: o.TopicPrefix, Township: o.Township, Gateway: "+"}
	out := []string{tp.Tickets(), tp.Status(), tp.Telemetry()}
	if o.Share != "" {
		for i, t := range out {
			out[i] = "$share/" + o.Share + "/" + t
		}
	}
	return out
}
