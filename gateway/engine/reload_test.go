package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestReplaceCarriesState: a running loop takes a new config's rules and
// devices between two steps; the open episode keeps its ticket, its
// escalated level and its start, the creep baselines and the device's
// poll statistics are carried over, and the config hash and load time
// change.
func TestReplaceCarriesState(t *testing.T) {
	dir := t.TempDir()
	l := newTestLoop(t, dir, memStore{outbox.NewMemory()}, Options{})
	since := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	open := rules.OpenHazard{Device: "efd-1f-main", Rule: "R8", TicketID: "efd-1f-main/R8/20261205T080000.000", Level: 2, Since: since}
	feedNight(l.Rules(), 0, 80)
	feedNight(l.Rules(), 1, 85)
	l.Rules().Restore([]rules.OpenHazard{open})
	l.Devices().NotePoll(rules.Poll{Device: "efd-1f-main", At: since, OK: true})
	oldHash, oldAt := l.ConfigHash(), l.ConfigLoadedAt()

	polls, busesDone, done := make(chan rules.Poll), make(chan struct{}), make(chan struct{})
	go func() { l.Run(context.Background(), polls, busesDone); close(done) }()
	defer func() { close(busesDone); <-done }()

	text := fmt.Sprintf(siteConfig, filepath.Join(dir, "outbox.db"))
	cfg, err := config.Parse([]byte(replaceFirst(text, "name: 总配电箱", "name: 一楼总配电箱")))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := CompileRules(cfg, cfg.Profiles(), nil)
	if err != nil {
		t.Fatal(err)
	}
	baselines := l.Rules().Baselines()
	res, err := l.Replace(context.Background(), Swap{Config: cfg, Rules: eng, Devices: configDevices(t, cfg)}, done)
	if err != nil || res.Kept != 1 || res.Closed != 0 {
		t.Fatalf("Replace: %+v %v, want one episode kept", res, err)
	}
	if l.Rules() != eng || l.Config() != cfg {
		t.Fatal("the loop does not run the new rules and config")
	}
	if got := eng.Open(); len(got) != 1 || got[0].TicketID != open.TicketID || got[0].Level != 2 || !got[0].Since.Equal(since) {
		t.Errorf("open episodes after the swap: %+v, want %+v", got, open)
	}
	if got := eng.Baselines(); len(got) == 0 || !slices.EqualFunc(got, baselines, func(a, b rules.Baseline) bool {
		return a.Device == b.Device && a.Rule == b.Rule && a.Point == b.Point && a.Night.Equal(b.Night) && a.Value == b.Value
	}) {
		t.Errorf("baselines after the swap: %d, want the %d of before", len(got), len(baselines))
	}
	v, _ := l.Devices().View("efd-1f-main")
	if !v.Seen || v.OK != 1 || v.Ticket.Name != "一楼总配电箱" {
		t.Errorf("device after the swap: seen %v ok %d name %q, want the old statistics and the new name", v.Seen, v.OK, v.Ticket.Name)
	}
	if l.ConfigHash() == oldHash || !l.ConfigLoadedAt().After(oldAt) {
		t.Errorf("config hash %s loaded %v, before %s %v", l.ConfigHash(), l.ConfigLoadedAt(), oldHash, oldAt)
	}
}

func replaceFirst(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("replaceFirst: " + old + " not found")
}
