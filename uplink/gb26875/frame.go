package gb26875

import (
	"errors"
	"fmt"
	"time"
)

// Frame layout sizes (GB/T 26875.3-2011 5.2.2).
const (
	// HeaderLen is the number of bytes from the start "@@" to the command
	// byte inclusive.
	HeaderLen = 27
	// TrailerLen is the checksum and the end "##".
	TrailerLen = 3
	// MinFrameLen is a frame without application data.
	MinFrameLen = HeaderLen + TrailerLen
	// MaxDataLen is the largest application data unit the standard allows.
	MaxDataLen = 1024
	// MaxFrameLen is the largest frame.
	MaxFrameLen = MinFrameLen + MaxDataLen
)

// Version2011 is the protocol version of GB/T 26875.3-2011: main version 1,
// user version 1.
var Version2011 = [2]byte{1, 1}

// Command is the control unit's command byte.
type Command uint8

// Commands (GB/T 26875.3-2011 table 2). 7–127 are reserved and 128–255 are
// user-defined: a receiver denies both as unknown.
const (
	CmdControl  Command = 1 // 控制命令, e.g. clock sync, initialise, duty check
	CmdSend     Command = 2 // 发送数据: fire alarms and facility states
	CmdConfirm  Command = 3 // 确认: answers a control or send frame
	CmdRequest  Command = 4 // 请求: a query
	CmdResponse Command = 5 // 应答: the answer to a query
	CmdDeny     Command = 6 // 否认: bad checksum, unknown command, over-length, bad start/end
)

// Known reports whether c is one of the six commands of the standard.
func (c Command) Known() bool { return c >= CmdControl && c <= CmdDeny }

func (c Command) String() string {
	switch c {
	case CmdControl:
		return "control"
	case CmdSend:
		return "send"
	case CmdConfirm:
		return "confirm"
	case CmdRequest:
		return "request"
	case CmdResponse:
		return "response"
	case CmdDeny:
		return "deny"
	}
	return fmt.Sprintf("command(%d)", uint8(c))
}

// Address is a 6-byte source or destination address (sent low byte first).
type Address uint64

// MaxAddress is the largest address that fits 6 bytes.
const MaxAddress Address = 1<<48 - 1

// String shows the address as 12 hex digits, most significant first.
func (a Address) String() string { return fmt.Sprintf("%012X", uint64(a)) }

// TimeLabel is the standard's 6-byte time: second, minute, hour, day, month,
// year − 2000, in this order on the wire. It carries no zone: fenghuo writes
// the site's local time (time_zone), as the centres expect.
type TimeLabel struct {
	Second, Minute, Hour, Day, Month, Year uint8
}

// LabelOf is the time label of t in t's own location. Years outside
// 2000–2255 cannot be represented and are clamped.
func LabelOf(t time.Time) TimeLabel {
	y := t.Year() - 2000
	y = max(0, min(y, 255))
	return TimeLabel{
		Second: uint8(t.Second()), Minute: uint8(t.Minute()), Hour: uint8(t.Hour()),
		Day: uint8(t.Day()), Month: uint8(t.Month()), Year: uint8(y),
	}
}

// Valid reports whether every field is in the standard's range (the year
// 0–99 as written in the standard).
func (l TimeLabel) Valid() bool {
	return l.Second <= 59 && l.Minute <= 59 && l.Hour <= 23 &&
		l.Day >= 1 && l.Day <= 31 && l.Month >= 1 && l.Month <= 12 && l.Year <= 99 &&
		time.Date(2000+int(l.Year), time.Month(l.Month), int(l.Day), 0, 0, 0, 0, time.UTC).Day() == int(l.Day)
}

// In is the label as a time in loc (the zone the sender wrote it in).
func (l TimeLabel) In(loc *time.Location) (time.Time, error) {
	if !l.Valid() {
		return time.Time{}, fmt.Errorf("gb26875: invalid time label %s", l)
	}
	return time.Date(2000+int(l.Year), time.Month(l.Month), int(l.Day),
		int(l.Hour), int(l.Minute), int(l.Second), 0, loc), nil
}

// String is the label as 20YY-MM-DD hh:mm:ss, whatever its values.
func (l TimeLabel) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d",
		2000+int(l.Year), l.Month, l.Day, l.Hour, l.Minute, l.Second)
}

func (l TimeLabel) append(b []byte) []byte {
	return append(b, l.Second, l.Minute, l.Hour, l.Day, l.Month, l.Year)
}

func labelAt(b []byte) TimeLabel {
	return TimeLabel{Second: b[0], Minute: b[1], Hour: b[2], Day: b[3], Month: b[4], Year: b[5]}
}

// Frame is one data packet: the control unit and the application data.
type Frame struct {
	// Serial is the 业务流水号: the initiator numbers its sends or requests
	// from 0 on a new connection; a confirm, deny or response echoes it.
	Serial  uint16
	Version [2]byte // main version, user version: Version2011
	Time    TimeLabel
	Source  Address
	Dest    Address
	Command Command
	// Data is the application data unit as bytes (DecodeAppData reads it);
	// empty for a confirm, a deny or a heartbeat.
	Data []byte
}

// Sentinel errors of a frame; a *FrameError wraps one of them.
var (
	ErrChecksum = errors.New("bad checksum")
	ErrEnd      = errors.New("end is not ##")
	ErrLength   = errors.New("application data longer than 1024 bytes")
	ErrCommand  = errors.New("unknown command byte")
	ErrStart    = errors.New("start is not @@")
	ErrShort    = errors.New("frame too short")
)

// FrameError is a frame the receiver must deny (GB/T 26875.3-2011 5.2.1:
// bad checksum, unknown command, over-length data, wrong start or end).
// Header holds what was read of the control unit (Data is nil), so the
// caller can deny with the serial number echoed: DenyFor(err, now).
type FrameError struct {
	Err    error // ErrChecksum, ErrEnd, ErrLength, ErrCommand, ErrStart or ErrShort
	Header Frame
	Detail string
}

func (e *FrameError) Error() string {
	s := fmt.Sprintf("gb26875: frame serial %d from %s: %v", e.Header.Serial, e.Header.Source, e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *FrameError) Unwrap() error { return e.Err }

// Checksum is the low 8 bits of the sum of b.
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// Append encodes f after dst.
func (f Frame) Append(dst []byte) ([]byte, error) {
	if len(f.Data) > MaxDataLen {
		return dst, fmt.Errorf("gb26875: application data of %d bytes: %w", len(f.Data), ErrLength)
	}
	if f.Source > MaxAddress || f.Dest > MaxAddress {
		return dst, fmt.Errorf("gb26875: address %s or %s does not fit 6 bytes", f.Source, f.Dest)
	}
	start := len(dst)
	dst = append(dst, '@', '@', byte(f.Serial), byte(f.Serial>>8), f.Version[0], f.Version[1])
	dst = f.Time.append(dst)
	dst = appendAddr(dst, f.Source)
	dst = appendAddr(dst, f.Dest)
	dst = append(dst, byte(len(f.Data)), byte(len(f.Data)>>8), byte(f.Command))
	dst = append(dst, f.Data...)
	dst = append(dst, Checksum(dst[start+2:]), '#', '#')
	return dst, nil
}

// MarshalBinary encodes f.
func (f Frame) MarshalBinary() ([]byte, error) {
	return f.Append(make([]byte, 0, MinFrameLen+len(f.Data)))
}

func appendAddr(b []byte, a Address) []byte {
	for i := range 6 {
		b = append(b, byte(a>>(8*i)))
	}
	return b
}

func addrAt(b []byte) Address {
	var a Address
	for i := range 6 {
		a |= Address(b[i]) << (8 * i)
	}
	return a
}

// parseHeader reads the control unit of b (len(b) ≥ HeaderLen) and returns
// it with the declared data length.
func parseHeader(b []byte) (Frame, int) {
	f := Frame{
		Serial:  uint16(b[2]) | uint16(b[3])<<8,
		Version: [2]byte{b[4], b[5]},
		Time:    labelAt(b[6:12]),
		Source:  addrAt(b[12:18]),
		Dest:    addrAt(b[18:24]),
		Command: Command(b[26]),
	}
	return f, int(b[24]) | int(b[25])<<8
}

// ParseFrame decodes exactly one frame. The returned Frame's Data aliases b.
// A frame the receiver must deny is a *FrameError (errors.Is with
// ErrChecksum, ErrEnd, ErrLength, ErrCommand, ErrStart or ErrShort).
func ParseFrame(b []byte) (Frame, error) {
	if len(b) < MinFrameLen {
		return Frame{}, &FrameError{Err: ErrShort, Detail: fmt.Sprintf("%d bytes, at least %d", len(b), MinFrameLen)}
	}
	h, n := parseHeader(b)
	if b[0] != '@' || b[1] != '@' {
		return Frame{}, &FrameError{Err: ErrStart, Header: h, Detail: fmt.Sprintf("% X", b[:2])}
	}
	if n > MaxDataLen {
		return Frame{}, &FrameError{Err: ErrLength, Header: h, Detail: fmt.Sprintf("length field %d", n)}
	}
	if len(b) != MinFrameLen+n {
		return Frame{}, &FrameError{Err: ErrShort, Header: h,
			Detail: fmt.Sprintf("length field %d needs a %d-byte frame, got %d bytes", n, MinFrameLen+n, len(b))}
	}
	return checkBody(b, h, n)
}

// checkBody checks the end, the checksum and the command of the complete
// frame b whose header h declares n data bytes.
func checkBody(b []byte, h Frame, n int) (Frame, error) {
	end := HeaderLen + n
	if b[end+1] != '#' || b[end+2] != '#' {
		return Frame{}, &FrameError{Err: ErrEnd, Header: h, Detail: fmt.Sprintf("% X at byte %d", b[end+1:end+3], end+1)}
	}
	if got, want := b[end], Checksum(b[2:end]); got != want {
		return Frame{}, &FrameError{Err: ErrChecksum, Header: h, Detail: fmt.Sprintf("got %02X, computed %02X", got, want)}
	}
	if !h.Command.Known() {
		return Frame{}, &FrameError{Err: ErrCommand, Header: h, Detail: fmt.Sprintf("%d", uint8(h.Command))}
	}
	h.Data = b[HeaderLen:end:end]
	return h, nil
}

// Reply is the answer to f with command c and no data: the serial number
// and version echoed, source and destination swapped, the time label now.
func Reply(f Frame, c Command, now TimeLabel) Frame {
	return Frame{Serial: f.Serial, Version: f.Version, Time: now, Source: f.Dest, Dest: f.Source, Command: c}
}

// DenyFor is the deny (6) answering a frame that failed with err; ok is
// false when err is not a *FrameError (nothing to answer).
func DenyFor(err error, now TimeLabel) (Frame, bool) {
	var fe *FrameError
	if !errors.As(err, &fe) {
		return Frame{}, false
	}
	h := fe.Header
	if h.Version == [2]byte{} {
		h.Version = Version2011
	}
	return Reply(h, CmdDeny, now), true
}
