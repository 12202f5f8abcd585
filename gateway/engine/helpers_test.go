package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// siteConfig is one electrical-fire detector (R9 creep) on a bus nobody
// answers (the loop is fed polls by the test), telemetry off; %s is the
// outbox path.
const siteConfig = `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103", community: 云村, address: 湖州市吴兴区织里镇云村}
buses: [{name: lan, type: tcp, address: "127.0.0.1:1"}]
devices: [{id: efd-1f-main, name: 总配电箱, bus: lan, slave: 1, profile: electrical-fire-1p}]
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1"}
  telemetry: {enabled: false}
buffer: {path: %s}
`

// linkState is the uplink's R25 and R28 verdicts, set by the test.
type linkState struct{ fault, conflict atomic.Bool }

func (l *linkState) TransmissionFault() bool { return l.fault.Load() }
func (l *linkState) ClientIDConflict() bool  { return l.conflict.Load() }

// memStore is the memory outbox with a file that is always there.
type memStore struct{ *outbox.Memory }

func (memStore) CheckFile() error { return nil }

// storeOutbox is a store the loop and its guard can both use.
type storeOutbox interface {
	outbox.Outbox
	Store
}

// configDevices are cfg's devices with their profiles.
func configDevices(t testing.TB, cfg *config.Config) *Devices {
	t.Helper()
	var list []Device
	for _, dc := range cfg.Devices {
		p, ok := cfg.Profiles().Get(dc.Profile)
		if !ok {
			t.Fatalf("device %s: no profile %s", dc.ID, dc.Profile)
		}
		list = append(list, NewDevice(dc, p))
	}
	return NewDevices(list)
}

// newTestLoop builds a loop on siteConfig over store, its outbox at
// dir/outbox.db (the baselines file beside it); opts adds hooks.
func newTestLoop(t testing.TB, dir string, store storeOutbox, opts Options) *Loop {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, siteConfig, filepath.Join(dir, "outbox.db")))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := CompileRules(cfg, cfg.Profiles(), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := outbox.NewGuard(context.Background(), store, outbox.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.Rules, opts.Devices, opts.Guard, opts.Store = cfg, eng, configDevices(t, cfg), g, store
	if opts.Link == nil {
		opts.Link = &linkState{}
	}
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
