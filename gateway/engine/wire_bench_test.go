package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// benchSite is a rule loop (not running) over n electrical-fire
// detectors, each with 30 nights of R9 baselines (the most a gateway
// keeps), on a SQLite outbox.
func benchSite(b *testing.B, n int) (*Loop, *sqlite.Store) {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString(strings.SplitN(siteConfig, "devices:", 2)[0])
	sb.WriteString("devices:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  - {id: efd-%d, name: 配电箱 %d, bus: lan, slave: %d, profile: electrical-fire-1p}\n", i, i, i)
	}
	fmt.Fprintf(&sb, "uplink:\n  mqtt:\n    broker: tcp://127.0.0.1:1\nbuffer:\n  path: %s\n", filepath.Join(dir, "outbox.db"))
	cfg, err := config.Parse([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(cfg.Buffer.Path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	eng, err := CompileRules(cfg, cfg.Profiles(), nil)
	if err != nil {
		b.Fatal(err)
	}
	g, err := outbox.NewGuard(context.Background(), st, outbox.GuardOptions{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(Options{Config: cfg, Rules: eng, Devices: configDevices(b, cfg), Guard: g, Store: st, Link: &linkState{}})
	if err != nil {
		b.Fatal(err)
	}
	site := time.FixedZone("CST", 8*3600)
	var bs []rules.Baseline
	for i := 1; i <= n; i++ {
		for night := range 30 {
			bs = append(bs, rules.Baseline{Device: fmt.Sprintf("efd-%d", i), Rule: "R9", Point: "residual_current",
				Night: time.Date(2026, 10, 1+night, 0, 0, 0, 0, site), Value: 80 + float64(night)})
		}
	}
	eng.RestoreBaselines(bs)
	return l, st
}

// BenchmarkSaveBaselines: one save of 200 detectors' baselines (30 nights
// each): encode, compare, write a temporary file, fsync, rename, fsync the
// directory. It runs about once a night.
//
//	go test -run '^$' -bench SaveBaselines -benchtime 20x ./gateway/engine/
func BenchmarkSaveBaselines(b *testing.B) {
	l, _ := benchSite(b, 200)
	now := time.Now()
	for b.Loop() {
		l.baselinesSaved = nil // as if a night had closed
		l.saveBaselines(now, true)
	}
	if fi, err := os.Stat(l.baselinePath()); err == nil {
		b.ReportMetric(float64(fi.Size())/1024, "file_KiB")
	}
	b.ReportMetric(float64(len(l.Rules().Baselines())), "baselines")
}

// BenchmarkGatewayPoll: the R25 poll the rule loop makes every second
// while R25 may be open (the link's verdict and an outbox Stats query),
// with an outbox of 10 000 delivered records and PENDING (default 0)
// unsent ones.
//
//	go test -run '^$' -bench GatewayPoll ./gateway/engine/
//	FENGHUO_BENCH_PENDING=50000 go test -run '^$' -bench GatewayPoll ./gateway/engine/
func BenchmarkGatewayPoll(b *testing.B) {
	l, st := benchSite(b, 1)
	ctx := context.Background()
	pending := 0
	fmt.Sscan(os.Getenv("FENGHUO_BENCH_PENDING"), &pending)
	fill := func(n int) []uint64 {
		recs := make([]outbox.Record, 0, 1000)
		var seqs []uint64
		for i := range n {
			recs = append(recs, outbox.Record{EventID: fmt.Sprintf("e%d-%d", n, i), TicketID: fmt.Sprintf("t%d", i), State: "open",
				Hazard: "smoke_fire_alarm", Rule: "R1", Device: "efd-1", Level: 3, Priority: 1, Payload: []byte(`{}`)})
			if len(recs) == cap(recs) || i == n-1 {
				got, err := st.Append(ctx, recs...)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range got {
					seqs = append(seqs, r.Seq)
				}
				recs = recs[:0]
			}
		}
		return seqs
	}
	if err := st.MarkSent(ctx, time.Now(), fill(10000)...); err != nil {
		b.Fatal(err)
	}
	fill(pending)
	now := time.Now()
	for b.Loop() {
		now = now.Add(time.Second)
		l.gatewayDraining = true // the worst case: the backlog is read
		if p := l.gatewayPoll(ctx, now); !p.OK {
			b.Fatal("gateway poll not OK")
		}
	}
}
