package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Bus endpoints: work on a bus done by the daemon's bus owner between
// polls (`fenghuo diag read / scan / trace`), never by a second master.
//
//	/v1/bus/read   ReadResult    ?device=D[&point=P] or ?bus=B&slave=S&fc=3&addr=A&count=N
//	/v1/bus/scan   stream        ?bus=B&from=1&to=247
//	/v1/bus/trace  stream        ?bus=B&seconds=N
//
// A stream is newline-delimited JSON, one [StreamEvent] a line: "start"
// once the request is accepted, then "progress" and "found" lines and one
// "result" (scan) or "frame" lines (trace); "error" ends a stream that
// failed after it started. A request the daemon refuses (unknown bus or
// device, bad address) is HTTP 400 with {"error": …}: the client returns
// a [*RejectedError].

// BusHandlers serve the bus endpoints; a nil handler answers 404.
type BusHandlers struct {
	Read  func(ctx context.Context, req ReadRequest) (ReadResult, error)
	Scan  func(ctx context.Context, req ScanRequest, emit func(StreamEvent) error) error
	Trace func(ctx context.Context, bus string, d time.Duration, emit func(StreamEvent) error) error
}

// ReadRequest is a device read (Device, optionally one Point) or a raw
// read (Bus, Slave, FC, Addr, Count).
type ReadRequest struct {
	Device string `json:"device,omitempty"`
	Point  string `json:"point,omitempty"`
	Bus    string `json:"bus,omitempty"`
	Slave  int    `json:"slave,omitempty"`
	FC     int    `json:"fc,omitempty"`
	Addr   int    `json:"addr,omitempty"`
	Count  int    `json:"count,omitempty"`
}

// ReadResult is what a read found on the wire.
type ReadResult struct {
	Bus     string `json:"bus"`
	Slave   int    `json:"slave"`
	Device  string `json:"device,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Blocks are the requests sent, in order; a read stops at the first
	// that fails.
	Blocks []Block `json:"blocks"`
	// Points are the profile's decoding (device reads).
	Points []PointValue `json:"points,omitempty"`
	// Pairs are the registers of a raw fc 3/4 read taken two by two from
	// Addr, decoded in the four word/byte orders.
	Pairs []Pair `json:"pairs,omitempty"`
	// Error is the first failed request's error; Exception is set when
	// that was a Modbus exception reply.
	Error     string     `json:"error,omitempty"`
	Exception *Exception `json:"exception,omitempty"`
}

// Block is one request and its answer.
type Block struct {
	FC        int        `json:"fc"`
	Address   int        `json:"address"`
	Count     int        `json:"count"`
	Registers []uint16   `json:"registers,omitempty"` // fc 3, 4
	Bits      []bool     `json:"bits,omitempty"`      // fc 1, 2
	LatencyMS float64    `json:"latency_ms"`
	Error     string     `json:"error,omitempty"`
	Exception *Exception `json:"exception,omitempty"`
}

// Exception is a Modbus exception reply: code and name
// (2, "illegal data address").
type Exception struct {
	Code int    `json:"code"`
	Name string `json:"name"`
}

// PointValue is one profile point decoded from a device read.
type PointValue struct {
	Name      string   `json:"name"`
	FC        int      `json:"fc"`
	Address   int      `json:"address"`
	Type      string   `json:"type"`
	Order     string   `json:"order,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	Registers []uint16 `json:"registers"` // wire order; a bit point: one, 0 or 1
	Value     Float    `json:"value"`
	Absent    bool     `json:"absent,omitempty"` // an `absent` sentinel: no sensor connected
	// SetBits names the bits that are set, for a point with named bits.
	SetBits []string `json:"set_bits,omitempty"`
	// Orders decodes a two-register point in the four orders.
	Orders []OrderValue `json:"orders,omitempty"`
}

// Pair is two consecutive registers decoded in the four orders.
type Pair struct {
	Address   int          `json:"address"`
	Registers [2]uint16    `json:"registers"`
	Orders    []OrderValue `json:"orders"`
}

// OrderValue is a register pair read in one word/byte order: ABCD
// (big-endian), CDAB (word-swapped), BADC (byte-swapped), DCBA.
type OrderValue struct {
	Order string `json:"order"`
	U32   uint32 `json:"u32"`
	I32   int32  `json:"i32"`
	F32   Float  `json:"f32"`
}

// Float is a float64 that survives JSON when it is not finite: NaN and
// ±Inf travel as the strings "NaN", "+Inf", "-Inf" (a register pair in
// the wrong order often decodes to one).
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte(`"` + strconv.FormatFloat(v, 'g', -1, 64) + `"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		*f = Float(v)
		return err
	}
	var v float64
	err := json.Unmarshal(b, &v)
	*f = Float(v)
	return err
}

// ScanRequest asks which slave ids in From..To answer on Bus.
type ScanRequest struct {
	Bus  string `json:"bus"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

// ScanResult is the outcome of a scan: the contract `fenghuo config init
// --from-scan` reads (`diag scan --json`).
type ScanResult struct {
	Bus    string      `json:"bus"`
	From   int         `json:"from"`
	To     int         `json:"to"`
	TookMS int64       `json:"took_ms"`
	Found  []ScanFound `json:"found"`
}

// ScanFound is one slave id that answered. Profile is the shipped profile
// the device matched by probing ("" when none did), Confidence "probe"
// when one matched; Candidates lists every profile that matched, best
// first.
type ScanFound struct {
	Slave      int      `json:"slave"`
	LatencyMS  float64  `json:"latency_ms"`
	Profile    string   `json:"profile"`
	Confidence string   `json:"confidence"`
	Candidates []string `json:"candidates,omitempty"`
	// Answer is how the id answered the probe: "registers" or the Modbus
	// exception ("exception 01 illegal function").
	Answer string `json:"answer"`
}

// ScanProgress is sent after each id probed.
type ScanProgress struct {
	Slave     int     `json:"slave"`
	Done      int     `json:"done"`
	Total     int     `json:"total"`
	Found     int     `json:"found"`
	ElapsedMS float64 `json:"elapsed_ms"`
	LeftMS    float64 `json:"left_ms"` // estimate: the mean time per id so far × ids left
}

// TraceFrame is one frame on the line, as the bus owner's transport saw it.
type TraceFrame struct {
	At    time.Time `json:"at"`
	Dir   string    `json:"dir"` // tx (a request), rx (a reply, good or rejected), drop (noise drained)
	Slave int       `json:"slave"`
	FC    int       `json:"fc"`
	Hex   string    `json:"hex"`
	// LatencyMS is, for rx, the time since the request it answers was sent.
	LatencyMS float64 `json:"latency_ms,omitempty"`
	Error     string  `json:"error,omitempty"` // why a reply was rejected
}

// StreamEvent is one line of a streamed answer.
type StreamEvent struct {
	Type     string        `json:"type"` // start | progress | found | result | frame | error
	Progress *ScanProgress `json:"progress,omitempty"`
	Found    *ScanFound    `json:"found,omitempty"`
	Result   *ScanResult   `json:"result,omitempty"`
	Frame    *TraceFrame   `json:"frame,omitempty"`
	// UplinkFrame is a frame of /v1/uplink/trace (uplinks.go).
	UplinkFrame *UplinkFrame `json:"uplink_frame,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// RejectedError is a request the daemon refused as wrong (HTTP 400): an
// unknown bus, device or point, an address out of range.
type RejectedError struct{ Msg string }

func (e *RejectedError) Error() string { return e.Msg }

// Reject returns a *RejectedError: a handler's way to answer 400.
func Reject(format string, args ...any) error {
	return &RejectedError{Msg: fmt.Sprintf(format, args...)}
}

// register routes the bus endpoints that have a handler.
func (h BusHandlers) register(m *http.ServeMux) {
	if h.Read != nil {
		m.HandleFunc("GET /v1/bus/read", func(w http.ResponseWriter, r *http.Request) {
			req, err := readRequest(r)
			if err != nil {
				writeError(w, err)
				return
			}
			res, err := h.Read(r.Context(), req)
			if err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, res)
		})
	}
	if h.Scan != nil {
		m.HandleFunc("GET /v1/bus/scan", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			from, err1 := intParam(q.Get("from"), "from", 1)
			to, err2 := intParam(q.Get("to"), "to", 247)
			if err := errors.Join(err1, err2); err != nil {
				writeError(w, err)
				return
			}
			stream(w, r, func(emit func(StreamEvent) error) error {
				return h.Scan(r.Context(), ScanRequest{Bus: q.Get("bus"), From: from, To: to}, emit)
			})
		})
	}
	if h.Trace != nil {
		m.HandleFunc("GET /v1/bus/trace", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			secs, err := finite("seconds", q.Get("seconds"), 0, 3600)
			if err != nil {
				writeError(w, err)
				return
			}
			stream(w, r, func(emit func(StreamEvent) error) error {
				return h.Trace(r.Context(), q.Get("bus"), time.Duration(secs*float64(time.Second)), emit)
			})
		})
	}
}

// readRequest parses the query of /v1/bus/read.
func readRequest(r *http.Request) (ReadRequest, error) {
	q := r.URL.Query()
	req := ReadRequest{Device: q.Get("device"), Point: q.Get("point"), Bus: q.Get("bus")}
	if req.Device != "" {
		return req, nil
	}
	var errs []error
	for _, p := range []struct {
		name string
		dst  *int
		def  int
	}{{"slave", &req.Slave, 0}, {"fc", &req.FC, 3}, {"addr", &req.Addr, 0}, {"count", &req.Count, 1}} {
		v, err := intParam(q.Get(p.name), p.name, p.def)
		*p.dst = v
		errs = append(errs, err)
	}
	return req, errors.Join(errs...)
}

func intParam(s, name string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, Reject("%s %q: want an integer", name, s)
	}
	return n, nil
}

// writeError answers 400 for a rejected request, 500 otherwise.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var re *RejectedError
	if errors.As(err, &re) {
		code = http.StatusBadRequest
	}
	writeJSON(w, code, errorBody{Error: err.Error()})
}

// stream runs f, writing each event it emits as one JSON line, flushed at
// once. An error before the first event is an ordinary error answer; after
// it, an "error" event. A stream may outlast the server's write timeout.
func stream(w http.ResponseWriter, r *http.Request, f func(emit func(StreamEvent) error) error) {
	rc := http.NewResponseController(w)
	started := false
	emit := func(ev StreamEvent) error {
		// A stream outlasts the server's write timeout (a trace lasts as
		// long as asked), so each line gets its own: a client that stops
		// reading is dropped, not waited for.
		_ = rc.SetWriteDeadline(time.Now().Add(DefaultWriteTimeout))
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
		return rc.Flush()
	}
	err := f(emit)
	switch {
	case err == nil:
	case !started:
		writeError(w, err)
	default:
		_ = emit(StreamEvent{Type: "error", Error: err.Error()}) // the client may be gone
	}
}
