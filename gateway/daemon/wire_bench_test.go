package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// benchSite is a daemon (not running) with n electrical-fire detectors,
// each with 30 nights of R9 baselines, the most a gateway keeps.
func benchSite(b *testing.B, n int) *Daemon {
	b.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, strings.SplitN(testConfig, "devices:", 2)[0], "127.0.0.1:1")
	sb.WriteString("devices:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  - {id: efd-%d, name: 配电箱 %d, bus: lan, slave: %d, profile: electrical-fire-1p}\n", i, i, i)
	}
	fmt.Fprintf(&sb, "uplink:\n  mqtt:\n    broker: tcp://127.0.0.1:1\nbuffer:\n  path: %s\n", filepath.Join(b.TempDir(), "outbox.db"))
	d := newDaemon(b, sb.String(), Options{})
	b.Cleanup(func() { d.store.Close() })
	site := time.FixedZone("CST", 8*3600)
	var bs []rules.Baseline
	for i := 1; i <= n; i++ {
		for night := range 30 {
			bs = append(bs, rules.Baseline{Device: fmt.Sprintf("efd-%d", i), Rule: "R9", Point: "residual_current",
				Night: time.Date(2026, 10, 1+night, 0, 0, 0, 0, site), Value: 80 + float64(night)})
		}
	}
	d.engine.RestoreBaselines(bs)
	return d
}

// BenchmarkSaveBaselines: one save of 200 detectors' baselines (30 nights
// each): encode, compare, write a temporary file, fsync, rename, fsync the
// directory. It runs about once a night.
//
//	go test -run '^$' -bench SaveBaselines -benchtime 20x ./gateway/daemon/
func BenchmarkSaveBaselines(b *testing.B) {
	d := benchSite(b, 200)
	now := time.Now()
	for b.Loop() {
		d.baselinesSaved = nil // as if a night had closed
		d.saveBaselines(now, true)
	}
	if fi, err := os.Stat(d.baselinePath()); err == nil {
		b.ReportMetric(float64(fi.Size())/1024, "file_KiB")
	}
	b.ReportMetric(float64(len(d.engine.Baselines())), "baselines")
}

// BenchmarkGatewayPoll: the R25 poll the rule loop makes every second
// while R25 may be open (the link's verdict and an outbox Stats query),
// with an outbox of 10 000 delivered records and PENDING (default 0)
// unsent ones.
//
//	go test -run '^$' -bench GatewayPoll ./gateway/daemon/
//	FENGHUO_BENCH_PENDING=50000 go test -run '^$' -bench GatewayPoll ./gateway/daemon/
func BenchmarkGatewayPoll(b *testing.B) {
	d := benchSite(b, 1)
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
				got, err := d.store.Append(ctx, recs...)
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
	if err := d.store.MarkSent(ctx, time.Now(), fill(10000)...); err != nil {
		b.Fatal(err)
	}
	fill(pending)
	now := time.Now()
	for b.Loop() {
		now = now.Add(time.Second)
		d.gatewayDraining = true // the worst case: the backlog is read
		if p := d.gatewayPoll(ctx, now); !p.OK {
			b.Fatal("gateway poll not OK")
		}
	}
}
