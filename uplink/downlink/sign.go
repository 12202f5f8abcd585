package downlink

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
)

// Signed commands (docs/tickets.md §6). A signed payload is the command's
// JSON object (the body) with one member appended as its last:
//
//	body    = {"id":"c1","cmd":"ping","ts":"2026-12-04T16:30:00.000+08:00"}
//	payload = {"id":"c1","cmd":"ping","ts":"2026-12-04T16:30:00.000+08:00","sig":"<64 hex>"}
//
// sig = lowercase hex of HMAC-SHA256(key, topic + "\n" + body), where topic
// is the full cmd topic (P/T/G/cmd) and body is the payload with the
// trailing `,"sig":"<64 hex>"` removed: the exact bytes the signer wrote,
// no re-encoding, so any JSON library can produce them. The topic binds a
// signature to one gateway. The key is the key file's text (surrounding
// whitespace trimmed), used as bytes, not decoded.

// sigSuffix is what a signed payload ends with around the 64 hex digits.
const (
	sigOpen  = `,"sig":"`
	sigClose = `"}`
	sigHex   = 2 * sha256.Size
	sigLen   = len(sigOpen) + sigHex + len(sigClose)
)

const sigPlacement = `must be the last member, written exactly ,"sig":"<64 lowercase hex>"}`

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 32

// Signature returns the hex HMAC-SHA256 of topic + "\n" + body under key.
func Signature(key []byte, topic string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(topic))
	m.Write([]byte{'\n'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign appends the sig member to body, a JSON object without whitespace
// after its closing brace and with at least one member.
func Sign(key []byte, topic string, body []byte) ([]byte, error) {
	body = bytes.TrimRight(body, " \t\r\n")
	if len(body) < 3 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, errors.New("downlink: sign: the body must be a non-empty JSON object")
	}
	out := make([]byte, 0, len(body)+sigLen)
	out = append(out, body[:len(body)-1]...)
	out = append(out, sigOpen...)
	out = append(out, Signature(key, topic, body)...)
	return append(out, sigClose...), nil
}

// splitSig returns the body and the hex signature of a payload that ends
// in the sig member; ok is false when it does not.
func splitSig(payload []byte) (body, sig []byte, ok bool) {
	n := len(payload)
	if n < sigLen+2 || !bytes.HasSuffix(payload, []byte(sigClose)) || string(payload[n-sigLen:n-sigLen+len(sigOpen)]) != sigOpen {
		return nil, nil, false
	}
	sig = payload[n-sigHex-len(sigClose) : n-len(sigClose)]
	body = make([]byte, 0, n-sigLen+1)
	body = append(append(body, payload[:n-sigLen]...), '}')
	return body, sig, true
}

// verify checks the signature of a payload that ends in the sig member.
func verify(key []byte, topic string, payload []byte) (body []byte, err error) {
	body, sig, ok := splitSig(payload)
	if !ok {
		return nil, &Error{Field: "sig", Reason: sigPlacement}
	}
	want := Signature(key, topic, body)
	if !hmac.Equal(sig, []byte(want)) {
		return nil, &Error{Field: "sig", Reason: "bad signature (HMAC-SHA256 over topic + \"\\n\" + the payload without sig does not match this gateway's key)", Err: ErrBadSignature}
	}
	return body, nil
}

// ErrBadSignature is wrapped by the error of a badly signed command.
var ErrBadSignature = errors.New("bad signature")

// LoadKey reads a command key file: its text, surrounding whitespace
// trimmed, at least MinKeyLen bytes. A file readable or writable by other
// users (mode & 0o007) is refused. Errors name the file, never the key.
func LoadKey(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o007 != 0 {
		return nil, fmt.Errorf("%s is accessible to other users (mode %04o); run chmod 600", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be read: %w", path, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinKeyLen {
		return nil, fmt.Errorf("%s holds %d bytes, want at least %d (e.g. openssl rand -hex 32)", path, len(b), MinKeyLen)
	}
	return b, nil
}
