package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
)

// R9's nightly baselines (rules.Engine.Baselines) outlive a restart in a
// small JSON file beside the outbox, <buffer.path>.baselines.json,
// replaced atomically (write a temporary file, fsync, rename, fsync the
// directory): a crash leaves the old file or the new one, never half of
// one. A file rather than a table in the outbox database because the
// baselines are derived data written about once a night, while the
// outbox's writer commits fire tickets with synchronous=FULL: the file
// never queues behind, or in front of, a ticket commit. Losing it costs
// R9 at most the nights since the last save, never a ticket.

// baselineSchema is the schema field of the baselines file.
const baselineSchema = "fenghuo.baselines.v1"

// defaultBaselineEvery is how often the rule loop looks for new baselines
// to save. A night's baseline is made at the first poll after the night
// window closes, so the file is written about once a night, at most once
// per interval, and on shutdown.
const defaultBaselineEvery = 10 * time.Minute

type baselineFile struct {
	Schema  string       `json:"schema"`
	SavedAt time.Time    `json:"saved_at"`
	Points  []savedPoint `json:"points"`
}

// savedPoint is the baselines of one point of one creep rule, oldest
// first: Nights[i] (local midnight of the night's day, in the rule's
// utc_offset) had the median Values[i].
type savedPoint struct {
	Device string      `json:"device"`
	Rule   string      `json:"rule"`
	Point  string      `json:"point"`
	Nights []time.Time `json:"nights"`
	Values []float64   `json:"values"`
}

// baselinePath is the file beside the outbox.
func (l *Loop) baselinePath() string { return l.Config().Buffer.Path + ".baselines.json" }

// restoreBaselines hands the saved baselines back to the engine, before
// the first poll. A missing file is a first start; an unreadable one is
// logged and ignored: R9 then starts counting nights afresh, the gateway
// still starts.
func (l *Loop) restoreBaselines() {
	path := l.baselinePath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var f baselineFile
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err == nil && f.Schema != baselineSchema {
		err = fmt.Errorf("schema %q, want %q", f.Schema, baselineSchema)
	}
	if err != nil {
		l.log.Warn("creep baselines not restored; R9 starts counting nights afresh", "file", path, "err", err)
		return
	}
	var bs []rules.Baseline
	for _, p := range f.Points {
		for i := range min(len(p.Nights), len(p.Values)) {
			bs = append(bs, rules.Baseline{Device: p.Device, Rule: p.Rule, Point: p.Point, Night: p.Nights[i], Value: p.Values[i]})
		}
	}
	l.Rules().RestoreBaselines(bs)
	l.baselinesSaved = encodeBaselines(l.Rules().Baselines())
	l.log.Info("restored creep baselines", "file", path, "saved_at", f.SavedAt, "baselines", len(bs))
}

// saveBaselines writes the engine's baselines when they changed since the
// last save, at most once per Options.BaselineEvery unless force (shutdown).
// Called by the rule loop only. A failed write is logged and retried at
// the next interval.
func (l *Loop) saveBaselines(now time.Time, force bool) {
	if !force && now.Sub(l.baselinesCheckedAt) < l.opts.BaselineEvery {
		return
	}
	l.baselinesCheckedAt = now
	bs := l.Rules().Baselines()
	enc := encodeBaselines(bs)
	if bytes.Equal(enc, l.baselinesSaved) {
		return
	}
	f := baselineFile{Schema: baselineSchema, SavedAt: now, Points: []savedPoint{}}
	for _, b := range bs {
		n := len(f.Points)
		if n == 0 || f.Points[n-1].Device != b.Device || f.Points[n-1].Rule != b.Rule || f.Points[n-1].Point != b.Point {
			f.Points = append(f.Points, savedPoint{Device: b.Device, Rule: b.Rule, Point: b.Point})
			n++
		}
		p := &f.Points[n-1]
		p.Nights, p.Values = append(p.Nights, b.Night), append(p.Values, b.Value)
	}
	data, err := json.Marshal(f)
	if err == nil {
		err = atomicfile.WriteFile(l.baselinePath(), append(data, '\n'), 0o600)
	}
	if err != nil {
		l.log.Error("cannot save creep baselines; retried later", "file", l.baselinePath(), "err", err)
		return
	}
	l.baselinesSaved = enc
}

// encodeBaselines is what saveBaselines compares to know whether anything
// changed (saved_at aside).
func encodeBaselines(bs []rules.Baseline) []byte {
	var buf bytes.Buffer
	for _, b := range bs {
		fmt.Fprintf(&buf, "%s\x00%s\x00%s\x00%d\x00%v\n", b.Device, b.Rule, b.Point, b.Night.Unix(), b.Value)
	}
	return buf.Bytes()
}
