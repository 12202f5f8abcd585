package sanitize

import (
	"encoding/json"
	"testing"
)

// The strings of issue 15: what a hostile ack's `by` carried.
const (
	fakeAllClear = "\x1b[2J\x1b[H\x1b[32mALL CLEAR\x1b[0m"
	hyperlink    = `=HYPERLINK("http://x","click")`
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"值班员 张三", "值班员 张三"},
		{fakeAllClear, "ALL CLEAR"},
		{"a\tb\nc\rd", "a b c d"},
		{"bell\a nul\x00 del\x7f", "bell nul del"},
		{"c1 \u009b2J csi", "c1  csi"},                               // 8-bit CSI with its parameters
		{"osc \x1b]0;pwned title\x07 end", "osc  end"},               // window title, BEL-terminated
		{"osc \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "osc link"}, // hyperlink, ST-terminated
		{"unterminated \x1b]0;rest", "unterminated "},
		{"esc \x1bc reset", "esc  reset"},      // ESC c: full reset
		{"esc \x1b(0 charset", "esc  charset"}, // ESC ( 0: an intermediate and a final
		{"trailing \x1b", "trailing "},
		{"bidi \u202egnp.exe\u202c \u2066x\u2069 \u200f", "bidi gnp.exe x "},
		{"bad \xff utf8", "bad \ufffd utf8"},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCSVCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{hyperlink, `'=HYPERLINK("http://x","click")`},
		{"+1", "'+1"}, {"-1+2", "'-1+2"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "' =1"}, {"\r=1", "' =1"},
		{"＝1+1", "'＝1+1"},
		{"\x1b[2J=1+1", "'=1+1"}, // an escape in front does not hide the formula
		{"张三", "张三"}, {"a=b", "a=b"}, {"", ""},
	} {
		if got := CSVCell(c.in); got != c.want {
			t.Errorf("CSVCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := map[string]string{"by": "\u009b2J\u202e\x7fok 值班", "bad": "x"}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	js = append(js[:len(js)-1], ",\"raw\":\"\xff\"}"...)
	got := JSON(js)
	for _, b := range got {
		if b < 0x20 || b == 0x7f {
			t.Fatalf("JSON(%q) = %q: a control byte is left", js, got)
		}
	}
	for _, r := range string(got) {
		if Unsafe(r) || r == 0xfffd {
			t.Fatalf("JSON(%q) = %q: %U is left raw", js, got, r)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["by"] != in["by"] || back["raw"] != "\ufffd" {
		t.Errorf("JSON(%q) = %q reads back as %q, %v; want the same values", js, got, back, err)
	}
	if plain := []byte(`{"a":"b"}`); &JSON(plain)[0] != &plain[0] {
		t.Error("JSON copied text that needed no escape")
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{fakeAllClear, hyperlink, "\x1b]0;x", "\u009b", "\xff\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Line(s) {
			if Unsafe(r) {
				t.Fatalf("Line(%q) keeps %U", s, r)
			}
		}
		if c := CSVCell(s); c != "" && c[0] != '\'' && (c[0] == '=' || c[0] == '+' || c[0] == '-' || c[0] == '@') {
			t.Fatalf("CSVCell(%q) = %q starts a formula", s, c)
		}
	})
}
