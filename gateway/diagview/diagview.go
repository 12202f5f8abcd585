// Package diagview is how the answers of `fenghuo diag` look: the tables
// a maintenance crew reads on a terminal, the CSV an office opens in
// Excel, the JSON a script parses. It renders the types of gateway/api
// (and the uplink probe's steps) and does nothing else: no socket, no bus,
// no config.
//
// Every text that comes from the network or a device (names, labels, an
// ack's `by`, errors, frames) is escaped on the way out: table cells and
// lines with sanitize.Line, CSV cells with sanitize.CSVCell, JSON with
// sanitize.JSON. Clock times are shown in the location the caller gives
// (the gateway's zone; tests pass UTC).
package diagview

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// JSON writes v indented, without HTML escaping (汉字 and <> as they are),
// with the controls that encoding/json leaves raw (DEL, C1, bidi) as \u
// escapes (sanitize.JSON).
func JSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(sanitize.JSON(b.Bytes()))
	return err
}
