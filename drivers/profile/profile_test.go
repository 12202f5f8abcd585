package profile

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadEmbedded(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arc-fault-1p", "chint-dtsu666", "electrical-fire-1p", "peacefair-pzem-004t",
		"smart-meter-3p", "smoke-485-basic", "smoke-detector"}
	if got := set.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		p, _ := set.Get(name)
		if p.Source == "" || p.Poll <= 0 || len(p.Rules) == 0 || p.CategoryZh == "" {
			t.Errorf("%s: source, poll, rules and category_zh must be set", name)
		}
		if !strings.HasPrefix(p.File, "embedded:") {
			t.Errorf("%s: File = %q", name, p.File)
		}
	}
	efd, _ := set.Get("electrical-fire-1p")
	t1 := efd.Point("t1")
	if t1 == nil || t1.Type != "f32" || t1.Order != "ABCD" || t1.Scale != 1 || !reflect.DeepEqual(t1.Absent, []float64{-200}) {
		t.Errorf("t1 = %+v", t1)
	}
	if cmd := efd.Point("command"); cmd.Readable() || !cmd.Writable() {
		t.Errorf("command must be write-only: %+v", cmd)
	}
	smoke, _ := set.Get("smoke-485-basic")
	if a := smoke.Point("alarm"); a.Address != 0x10 || a.FC != 3 {
		t.Errorf("smoke-485-basic alarm = %+v", a)
	}
	if _, ok := set.Get("nope"); ok {
		t.Error("Get of an unknown profile must fail")
	}
}

const badProfile = `name: smart-meter-3p
category: fire
poll: 1s
max_gap: -2
turnaround: 2s
points:
  - {name: ua, address: 20, scale: 0.1}
  - {name: ub, address: 21, type: f33}
  - {name: ic, fc: 5, address: 30}
  - {name: ib, address: 21, type: u32, bits: {0: x}}
  - {name: ua, address: 40, order: ABDC}
  - {name: flag, fc: 2, address: 0, type: u16}
  - {name: setp, fc: 4, address: 50, access: rw}
  - {name: big, address: 60, default: 70000}
rules:
  - {id: R15, type: threshold, points: [ua, uz]}
  - {id: R15, type: status, when: [{point: nothere, bits: [1]}, {all: [{point: ua, below: 50}, {point: ubb, above: 180}]}]}
`

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := Parse("smart-meter-3p.yaml", []byte(badProfile))
	if err == nil {
		t.Fatal("want an error")
	}
	want := []string{
		`smart-meter-3p.yaml: category: "fire" is not one of smoke, electrical`,
		`smart-meter-3p.yaml: max_gap: -2 is out of range -1..125`,
		`smart-meter-3p.yaml: turnaround: 2s is out of range 0..1s`,
		`smart-meter-3p.yaml: points[1].type: "f33" is not one of u16, i16, u32, i32, f32, u64, i64, f64, bcd16, bit`,
		`smart-meter-3p.yaml: points[2].fc: 5 is not one of 1, 2, 3, 4`,
		`smart-meter-3p.yaml: points[3].bits: bit names need type u16, not "u32"`,
		`smart-meter-3p.yaml: points[3].address: fc 3 @21 overlaps points[1] "ub"`,
		`smart-meter-3p.yaml: points[4].name: "ua" is also the name of points[0]`,
		`smart-meter-3p.yaml: points[4].order: "ABDC" is not one of ABCD, CDAB, BADC, DCBA`,
		`smart-meter-3p.yaml: points[5].type: "u16" does not fit fc 2`,
		`smart-meter-3p.yaml: points[6].access: "rw": fc 4 is read-only`,
		`smart-meter-3p.yaml: points[7].default: point "big": value 70000`,
		`smart-meter-3p.yaml: rules[0].points[1]: no point "uz"`,
		`smart-meter-3p.yaml: rules[1].id: "R15" is also the id of rules[0]`,
		`smart-meter-3p.yaml: rules[1].when[0].point: no point "nothere"`,
		`smart-meter-3p.yaml: rules[1].when[1].all[1].point: no point "ubb"`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing problem %q", w)
		}
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Error("problems must be *FieldError")
	}
	if t.Failed() {
		t.Logf("got:\n%s", msg)
	}
}

func TestParseStrict(t *testing.T) {
	_, err := Parse("x.yaml", []byte("name: x\ncategory: smoke\npionts: []\npoints:\n  - {name: a, adress: 3}\n"))
	if err == nil {
		t.Fatal("unknown keys must be errors")
	}
	for _, w := range []string{"x.yaml: line 3: field pionts not found", "x.yaml: line 5: field adress not found"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if _, err := Parse("e.yaml", nil); err == nil || !strings.Contains(err.Error(), "e.yaml: empty") {
		t.Errorf("empty file: %v", err)
	}
}

func TestLoadDirOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// overrides the shipped profile: an installer whose detector answers FC04
	write("my-smoke.yaml", "name: smoke-485-basic\ncategory: smoke\npoll: 2s\npoints:\n  - {name: alarm, fc: 4, address: 16}\n")
	write("lx47le.yaml", "name: lingxun-lx47le\ncategory: electrical\npoints:\n  - {name: status, fc: 4, address: 0}\n")
	write("notes.txt", "not a profile")
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get("smoke-485-basic")
	if p.Poll != 2*time.Second || p.Point("alarm").FC != 4 || p.File != filepath.Join(dir, "my-smoke.yaml") {
		t.Errorf("override not applied: %+v", p)
	}
	if _, ok := set.Get("lingxun-lx47le"); !ok || len(set.Names()) != 8 {
		t.Errorf("names = %v", set.Names())
	}

	write("bad.yaml", "name: Bad Name\ncategory: smoke\npoints: []\n")
	write("dup.yaml", "name: lingxun-lx47le\ncategory: electrical\npoints:\n  - {name: s, address: 0}\n")
	_, err = Load(dir)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, w := range []string{"bad.yaml: name:", "bad.yaml: points: a profile needs at least one point", `name: "lingxun-lx47le" is also the name of`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing profiles dir must be an error")
	}
}
