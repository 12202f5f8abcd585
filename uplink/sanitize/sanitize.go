// Package sanitize makes text that came from the network or a device safe
// to show: on a terminal ([Line], [JSON]) and in a spreadsheet ([CSVCell]).
//
// Anyone who can publish on the broker, or a device that answers on the
// bus, chooses the bytes of an ack's `by`, a device name, a label, an
// error text. Printed raw, an ANSI escape clears the crew's screen and
// writes a fake "ALL CLEAR"; a bidi override reverses what is read; a
// cell starting with "=" is a formula to Excel. Every output of such text
// goes through this package. It uses the standard library only, so both
// uplink/station and gateway/cli import it.
package sanitize

import (
	"strings"
	"unicode/utf8"
)

// Line returns s as one line a terminal shows as plain text: ANSI escape
// sequences (CSI, OSC, DCS and the two-byte ones, 7-bit or C1) are removed
// whole; other C0 controls, DEL, C1 controls and the bidi embeddings,
// overrides, isolates and marks (U+200E/F, U+061C, U+202A–202E,
// U+2066–2069) are removed; tab, newline and carriage return become one
// space each; invalid UTF-8 becomes U+FFFD.
func Line(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f:
			n = escapeLen(s[i:])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case Unsafe(r):
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Unsafe reports whether a terminal would act on r rather than show it:
// a C0 control (tab and newline included), DEL, a C1 control, or a bidi
// control.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// plain reports whether s is printable ASCII only (the common case).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// escapeLen is the length in bytes of the escape sequence at the start of
// s (which starts with ESC or a C1 introducer). An unterminated string
// sequence (OSC, DCS…) runs to the end of s.
func escapeLen(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	kind := r // '[' CSI, ']' OSC, 'P' 'X' '^' '_' a string, else ESC and a final byte
	if r == 0x1b && len(s) > 1 {
		kind = rune(s[1])
		switch kind {
		case '[', ']', 'P', 'X', '^', '_':
			n++
		}
	}
	switch kind {
	case '[', 0x9b:
		// parameters 0x30–0x3F, intermediates 0x20–0x2F, one final 0x40–0x7E
		for n < len(s) && s[n] >= 0x20 && s[n] <= 0x3f {
			n++
		}
		if n < len(s) && s[n] >= 0x40 && s[n] <= 0x7e {
			n++
		}
		return n
	case ']', 'P', 'X', '^', '_', 0x9d, 0x90, 0x98, 0x9e, 0x9f:
		// a string, ended by BEL, ESC \ or ST (U+009C)
		for i := n; i < len(s); {
			c, w := utf8.DecodeRuneInString(s[i:])
			switch {
			case c == 0x07 || c == 0x9c:
				return i + w
			case c == 0x1b && i+1 < len(s) && s[i+1] == '\\':
				return i + 2
			}
			i += w
		}
		return len(s)
	}
	// ESC, intermediates 0x20–0x2F, one final 0x30–0x7E
	for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f {
		n++
	}
	if n < len(s) && s[n] >= 0x30 && s[n] <= 0x7e {
		n++
	}
	return n
}

// CSVCell returns s as a spreadsheet cell that is text, never a formula
// (OWASP "CSV injection"): [Line] first, then a cell starting with = + - @,
// tab or carriage return (or their fullwidth forms ＝ ＋ － ＠) gets a
// leading single quote. Use it for every text field from the network or a
// device; numbers and times the gateway formats itself need not.
func CSVCell(s string) string {
	t := Line(s)
	if s == "" || t == "" {
		return t
	}
	// tab and CR are checked before Line turns them into spaces, the
	// others after it removed any escape in front of them.
	first, _ := utf8.DecodeRuneInString(s)
	lead, _ := utf8.DecodeRuneInString(t)
	switch {
	case first == '\t', first == '\r':
	case strings.ContainsRune("=+-@＝＋－＠", lead):
	default:
		return t
	}
	return "'" + t
}

// JSON returns JSON text js with every [Unsafe] rune inside a string
// written as a \uXXXX escape and invalid UTF-8 as \ufffd: the same value
// to a JSON reader, plain text to a terminal. Outside strings valid JSON
// holds only ASCII punctuation, digits, letters and whitespace; give it
// compact JSON (json.Compact) so that the only whitespace left is inside
// strings.
func JSON(js []byte) []byte {
	clean := true
	for i := 0; i < len(js); {
		r, n := utf8.DecodeRune(js[i:])
		if (r == utf8.RuneError && n <= 1) || jsonUnsafe(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	for i := 0; i < len(js); {
		r, n := utf8.DecodeRune(js[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, `\ufffd`...)
		case jsonUnsafe(r):
			const hex = "0123456789abcdef"
			out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			out = append(out, js[i:i+n]...)
		}
		i += n
	}
	return out
}

// jsonUnsafe is [Unsafe] but for JSON's whitespace, which valid JSON holds
// only outside strings.
func jsonUnsafe(r rune) bool {
	return Unsafe(r) && r != '\n' && r != '\t' && r != '\r'
}
