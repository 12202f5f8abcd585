package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// Run serves until ctx is done: ingestion, watchdog and the HTTP API. It
// returns an error when the options are bad, the store cannot be opened,
// the address cannot be bound or the first connection to the broker fails.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	if err := o.check(); err != nil {
		return err
	}
	v, err := newValidator()
	if err != nil {
		return err
	}
	st, err := store.Open(o.DB)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return errors.Join(fmt.Errorf("station serve: --listen %s: %w", o.Listen, err), st.Close())
	}
	err = run(ctx, o, st, v, ln)
	return errors.Join(err, st.Close())
}

// logger writes one line per call, sanitised, to o.Log.
func logger(o Options) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(o.Log, time.Now().Format(time.DateTime), sanitize.Line(fmt.Sprintf(format, args...)))
	}
}

func run(ctx context.Context, o Options, st store.Store, v *validator, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logf := logger(o)
	in := newIngester(st, v, o.TopicPrefix, logf)
	live := liveFeed(in)
	var wh *webhook
	if o.Webhook != "" {
		feed, ok := any(st).(store.Feed)
		if !ok {
			return errors.Join(errors.New("station serve: --webhook needs a store that keeps events in commit order (SQLite)"), ln.Close())
		}
		secret, err := readSecret(o.WebhookSecretFile)
		if err != nil {
			return errors.Join(err, ln.Close())
		}
		wh = newWebhook(o.Webhook, secret, feed, logf)
		in.onCommit = wh.notify
	}
	subscribed := make(chan struct{})
	client, err := connect(ctx, o, in, subscribed, logf)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	var wg sync.WaitGroup
	if wh != nil {
		wg.Go(func() { wh.run(ctx) })
	}
	wg.Go(func() { in.run(ctx) })
	wd := Watchdog{Heartbeat: o.Heartbeat, GapAlarm: o.GapAlarm, Since: time.Now()}
	wg.Go(func() { wd.loop(ctx, st, o.WatchEvery, logf) })
	ack := &acker{client: client, prefix: o.TopicPrefix, keyDir: o.KeyDir}
	a := &api{st: st, ack: ack.send, now: time.Now, secure: o.TLSCert != "", hub: live, loopback: CheckListen(o.Listen, false, false) == nil}
	srv := &http.Server{Handler: a.routes(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	srv.RegisterOnShutdown(live.close) // live streams end, so Shutdown does not wait for them
	served := make(chan error, 1)
	go func() { served <- serveHTTP(srv, ln, o) }()
	err = waitServing(ctx, o, subscribed, served, ln.Addr().String(), logf)
	cancel()
	err = errors.Join(err, shutdownHTTP(srv, logf))
	client.Disconnect(250)
	wg.Wait()
	return err
}

// waitServing announces readiness after the first SUBACK and returns when
// ctx is done (nil) or the HTTP server fails.
func waitServing(ctx context.Context, o Options, subscribed <-chan struct{}, served <-chan error, addr string, logf func(string, ...any)) error {
	for {
		select {
		case <-subscribed:
			logf("station serve: subscribed %v as %s; API on http%s://%s", o.topics(), o.ClientID, tlsS(o), addr)
			if o.Ready != nil {
				o.Ready(addr)
			}
			subscribed = nil
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("station serve: HTTP: %w", err)
		}
	}
}

func tlsS(o Options) string {
	if o.TLSCert != "" {
		return "s"
	}
	return ""
}

func serveHTTP(srv *http.Server, ln net.Listener, o Options) error {
	if o.TLSCert != "" {
		return srv.ServeTLS(ln, o.TLSCert, o.TLSKey)
	}
	return srv.Serve(ln)
}

// shutdownHTTP lets requests in flight finish for up to 5 s, then closes
// what is left. Go's Shutdown counts a connection that was accepted but
// never sent a request as busy for its first 5 s, so a deadline here is
// not a fault of the service (everything it stored is committed): the
// rest is closed and logged, not returned as an error.
func shutdownHTTP(srv *http.Server, logf func(string, ...any)) error {
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	err := srv.Shutdown(shut)
	if errors.Is(err, context.DeadlineExceeded) {
		logf("station serve: HTTP connections still open after 5 s at shutdown: closed")
		return ignoreClosed(srv.Close())
	}
	return ignoreClosed(err)
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// connect opens the persistent session (fixed client id, clean session
// off, manual acknowledgement) and subscribes after every connect;
// subscribed is closed after the first SUBACK.
func connect(ctx context.Context, o Options, in *ingester, subscribed chan struct{}, logf func(string, ...any)) (paho.Client, error) {
	h := in.handler(ctx)
	subs := map[string]byte{}
	for _, t := range o.topics() {
		subs[t] = 1
	}
	var once sync.Once
	po := paho.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).SetCleanSession(false).
		SetAutoAckDisabled(true).SetOrderMatters(true).SetAutoReconnect(true).SetMaxReconnectInterval(10 * time.Second).
		SetKeepAlive(30 * time.Second).SetDefaultPublishHandler(h).
		SetConnectionLostHandler(func(_ paho.Client, err error) { logf("station serve: broker connection lost: %v", err) }).
		SetOnConnectHandler(func(c paho.Client) {
			tok := c.SubscribeMultiple(subs, h)
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				logf("station serve: subscribe %v: %v", o.topics(), tok.Error())
				return
			}
			once.Do(func() { close(subscribed) })
		})
	if o.Username != "" {
		po.SetUsername(o.Username).SetPassword(o.Password)
	}
	c := paho.NewClient(po)
	tok := c.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return nil, fmt.Errorf("station serve: connect %s: %w", sanitize.URL(o.Broker), err)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c, nil
}
