package busdiag_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// tcpSite is a config of one Modbus TCP bus served by a simulator: a
// smoke detector at 1, an electrical-fire detector at 7 and, configured
// but silent, a device at 9.
func tcpSite(t *testing.T) *config.Config {
	t.Helper()
	srv, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg, err := config.Parse(fmt.Appendf(nil, `gateway:
  id: gw-330502103-test-01
  site:
    name: test
    township_code: "330502103"
buses:
  - name: lan
    type: tcp
    address: %s
    timeout: 200ms
devices:
  - {id: smoke-1, name: smoke, bus: lan, slave: 1, profile: smoke-detector}
  - {id: efd-1, name: efd, bus: lan, slave: 7, profile: electrical-fire-1p}
  - {id: ghost-9, name: ghost, bus: lan, slave: 9, profile: smoke-detector}
uplink:
  mqtt:
    broker: tcp://127.0.0.1:1883
`, srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	for _, slave := range []uint8{1, 7} {
		p, _ := cfg.Profiles().Get(map[uint8]string{1: "smoke-detector", 7: "electrical-fire-1p"}[slave])
		srv.AddDevice(slave, p)
	}
	return cfg
}

// lines collects trace lines as "dir slave fc hex ! error".
type lines struct {
	mu  sync.Mutex
	got []string
	on  func(api.TraceFrame) // called with each frame, after it is kept
}

func (l *lines) add(tf api.TraceFrame) {
	l.mu.Lock()
	s := fmt.Sprintf("%s %d %d %s", tf.Dir, tf.Slave, tf.FC, tf.Hex)
	if tf.Dir == "rx" && tf.LatencyMS <= 0 {
		s += " (no latency)"
	}
	if tf.Error != "" {
		s += " ! " + tf.Error
	}
	l.got = append(l.got, s)
	l.mu.Unlock()
	if l.on != nil {
		l.on(tf)
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.got, "\n")
}

// TestTraceModbusTCP: `diag trace` of a Modbus TCP bus shows the unit id
// and the PDU of each request and reply (the transport traces ADUs with
// their MBAP header), times the replies, names an exception, and reports
// a request nobody answered when the next one goes.
func TestTraceModbusTCP(t *testing.T) {
	cfg := tcpSite(t)
	var tr lines
	line, err := busdiag.OpenDirect(cfg.Buses[0], tr.add)
	if err != nil {
		t.Fatal(err)
	}
	defer line.Close()
	run := busdiag.Direct(line)
	ctx := t.Context()
	if res, err := busdiag.ReadRaw(ctx, run, "lan", 7, 3, 16, 2); err != nil || res.Error != "" {
		t.Fatalf("read: %v %+v", err, res)
	}
	if res, err := busdiag.ReadRaw(ctx, run, "lan", 1, 3, 1000, 2); err != nil || res.Exception == nil {
		t.Fatalf("read of 1000: %v %+v", err, res)
	}
	want := strings.Join([]string{
		"tx 7 3 07 03 00 10 00 02",
		"rx 7 3 07 03 04 42 A0 00 00",
		"tx 1 3 01 03 03 E8 00 02",
		"rx 1 131 01 83 02 ! modbus exception 2 (illegal data address) to fc3",
	}, "\n")
	if got := tr.String(); got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}

	// trace --direct: the config's devices polled until the silent one is
	// reported (or, bounded, 10 s went by).
	var polled lines
	pctx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	polled.on = func(tf api.TraceFrame) {
		if strings.Contains(tf.Error, "no reply") {
			stop()
		}
	}
	pline, err := busdiag.OpenDirect(cfg.Buses[0], polled.add)
	if err != nil {
		t.Fatal(err)
	}
	defer pline.Close()
	readers, err := busdiag.Readers(cfg, "lan")
	if err != nil || len(readers) != 3 {
		t.Fatalf("readers: %d, %v", len(readers), err)
	}
	busdiag.Poll(pctx, busdiag.Direct(pline), readers, 1)
	got := polled.String()
	for _, w := range []string{"tx 1 3 01 03 00 00", "rx 1 3 01 03 ", "tx 7 3 07 03 ", "rx 7 3 07 03 ", "tx 9 3 09 03 00 00", "rx 9 3  ! no reply before the next request"} {
		if !strings.Contains(got, w) {
			t.Errorf("poll trace lacks %q:\n%s", w, got)
		}
	}
}
