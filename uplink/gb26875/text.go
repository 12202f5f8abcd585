package gb26875

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// DescriptionLen is the size of a component description (部件说明).
const DescriptionLen = 31

// EncodeText encodes s in GB 18030 in at most limit bytes, cutting at a
// character boundary; a NUL ends the text (it would end it on the wire).
// Invalid UTF-8 becomes U+FFFD.
func EncodeText(s string, limit int) []byte {
	enc := simplifiedchinese.GB18030.NewEncoder()
	out := make([]byte, 0, min(limit, 4*len(s)))
	var one [utf8.UTFMax]byte
	for _, r := range s {
		if r == 0 {
			break
		}
		n := utf8.EncodeRune(one[:], r)
		g, err := enc.Bytes(one[:n])
		if err != nil { // GB 18030 maps every scalar value; keep a '?' if not
			g = []byte{'?'}
		}
		if len(out)+len(g) > limit {
			break
		}
		out = append(out, g...)
	}
	return out
}

// DecodeText decodes GB 18030 bytes, stopping at the first NUL (the padding).
// Bytes that are not GB 18030 become U+FFFD; the result is valid UTF-8 but
// may hold control characters: escape it before it reaches a terminal.
func DecodeText(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return fmt.Sprintf("(undecodable GB 18030: % X)", b)
	}
	return string(s)
}

// FitDescription is what a description becomes on the wire and back: s cut
// to 31 GB 18030 bytes at a character boundary.
func FitDescription(s string) string { return DecodeText(EncodeText(s, DescriptionLen)) }

func appendDescription(b []byte, s string) []byte {
	t := EncodeText(s, DescriptionLen)
	b = append(b, t...)
	for range DescriptionLen - len(t) {
		b = append(b, 0)
	}
	return b
}
