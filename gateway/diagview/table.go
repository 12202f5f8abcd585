package diagview

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// table writes rows in columns padded by display width, two spaces apart,
// with no trailing blanks. Every cell goes through sanitize.Line: names,
// labels, acks' `by` and errors come from the network or a device.
type table struct {
	rows [][]string
}

func (t *table) add(cells ...string) {
	for i, c := range cells {
		cells[i] = sanitize.Line(c)
	}
	t.rows = append(t.rows, cells)
}

func (t *table) write(w io.Writer) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], DisplayWidth(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.Reset()
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-DisplayWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// DisplayWidth is how many terminal columns s takes: East Asian wide and
// fullwidth runes (汉字, 全角 punctuation, Hangul, kana) take two,
// combining marks and zero-width format runes none, others one.
// text/tabwriter cannot align 中文 because it counts every rune as one cell.
func DisplayWidth(s string) int {
	w := 0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

func runeWidth(r rune) int {
	switch {
	case r == 0 || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r):
		return 0
	case isWide(r):
		return 2
	}
	return 1
}

// wide holds the East Asian Wide (W) and Fullwidth (F) ranges of UAX #11
// that a gateway's names and units can contain.
var wide = [][2]rune{
	{0x1100, 0x115F},   // Hangul Jamo initials
	{0x2E80, 0x303E},   // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
	{0x3041, 0x33FF},   // Hiragana, Katakana, Bopomofo, Hangul compatibility, Kanbun, CJK strokes, enclosed, compatibility
	{0x3400, 0x4DBF},   // CJK extension A
	{0x4E00, 0x9FFF},   // CJK unified ideographs
	{0xA000, 0xA4CF},   // Yi
	{0xAC00, 0xD7A3},   // Hangul syllables
	{0xF900, 0xFAFF},   // CJK compatibility ideographs
	{0xFE30, 0xFE4F},   // CJK compatibility forms
	{0xFF00, 0xFF60},   // fullwidth forms
	{0xFFE0, 0xFFE6},   // fullwidth signs
	{0x1F300, 0x1F64F}, // pictographs, emoticons
	{0x20000, 0x3FFFD}, // CJK extensions B…
}

func isWide(r rune) bool {
	if r < 0x1100 {
		return false
	}
	for _, rg := range wide {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

// truncate shortens s to at most max columns, ending with "…".
func truncate(s string, max int) string {
	if DisplayWidth(s) <= max {
		return s
	}
	w := 0
	for i, r := range s {
		rw := runeWidth(r)
		if w+rw > max-1 {
			return s[:i] + "…"
		}
		w += rw
	}
	return s
}
