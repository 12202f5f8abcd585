// Package centre is a minimal GB/T 26875.3-2011 monitoring-centre receiver
// for tests and installers (`fenghuo station centre`): it accepts TCP
// connections from transmission devices, prints each frame it decodes,
// confirms (3) every send-data (2) frame with its serial number echoed,
// denies (6) a bad frame, and answers nothing else. Tests inject faults
// (Options.Decide: deny or drop a send), watch frames (Options.OnFrame)
// and send control commands and queries to the devices (Server.Send). It is not a centre:
// it sends no queries, keeps nothing, and trusts nobody — text from the
// network is stripped of control characters before it is printed.
package centre

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
)

// Defaults.
const (
	DefaultMaxConns = 64
	DefaultIdle     = 5 * time.Minute
	writeTimeout    = 10 * time.Second
)

// Options configure a Server.
type Options struct {
	Out  io.Writer // one line per frame; os.Stdout when nil
	JSON bool      // print JSON lines instead of readable ones
	// Address is the centre's own address, the source of its answers when
	// UseAddress is set; otherwise an answer comes from the destination the
	// device wrote (the centre is whoever the device thinks it is).
	Address    gb26875.Address
	UseAddress bool
	MaxConns   int              // connections served at once; more are closed at once
	Idle       time.Duration    // a connection silent this long is closed
	Location   *time.Location   // zone of the answers' time labels; UTC+8 when nil
	Now        func() time.Time // receive times and answers' time labels (deadlines use the real clock)

	// Decide, when set, chooses the answer to each good send (2) frame: confirm (the default), deny or drop (no answer).
	// Tests use it to inject the faults a real centre shows; the CLI
	// leaves it nil.
	Decide func(f gb26875.Frame) Action
	// OnFrame, when set, is called with every good frame received (Data is
	// the raw application data) and the answer given, from the
	// connection's goroutine, before the frame is printed.
	OnFrame func(f gb26875.Frame, answer Action)
}

// Action is the centre's answer to a received frame.
type Action int

// Actions.
const (
	Confirm Action = iota // confirm (3) with the serial echoed
	Deny                  // deny (6) with the serial echoed
	Drop                  // no answer: the device's confirm timeout runs out
	None                  // the frame needs no answer (a confirm, response or deny)
)

func (a Action) String() string {
	switch a {
	case Confirm:
		return "confirm"
	case Deny:
		return "deny"
	case Drop:
		return "drop"
	}
	return "none"
}

// Server is the receiver.
type Server struct {
	o     Options
	outMu sync.Mutex
	sem   chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]*sync.Mutex // each connection's write lock
	wg    sync.WaitGroup
}

// New returns a Server with o's zero fields defaulted.
func New(o Options) *Server {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.Location == nil {
		o.Location = time.FixedZone("UTC+8", 8*3600)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{o: o, sem: make(chan struct{}, o.MaxConns), conns: map[net.Conn]*sync.Mutex{}}
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and returns ctx's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("centre: accept: %w", err)
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.event(conn.RemoteAddr().String(), fmt.Sprintf("refused: %d connections already open", s.o.MaxConns))
			conn.Close()
			continue
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			<-s.sem
			continue
		}
		s.conns[conn] = &sync.Mutex{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.handle(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// ListenAndServe listens on addr (host:port) and serves until ctx is done;
// ready, when not nil, gets the bound address first.
func ListenAndServe(ctx context.Context, addr string, o Options, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("centre: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	return New(o).Serve(ctx, ln)
}

func (s *Server) handle(conn net.Conn) {
	defer conn.Close()
	peer := conn.RemoteAddr().String()
	s.event(peer, "connected")
	d := gb26875.NewDecoder(conn)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(s.o.Idle))
		f, err := d.Next()
		rx := s.o.Now()
		var fe *gb26875.FrameError
		switch {
		case err == nil:
			s.frame(conn, peer, rx, f, d.Raw())
		case errors.As(err, &fe):
			s.bad(conn, peer, rx, err, d.Raw())
		default:
			var ne net.Error
			msg := "closed"
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				msg = fmt.Sprintf("closed: silent for %s", s.o.Idle)
			case errors.Is(err, io.ErrUnexpectedEOF):
				msg = fmt.Sprintf("closed inside a frame (%d bytes unread)", d.Buffered())
			case !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
				msg = "closed: " + err.Error()
			}
			if d.Skipped() > 0 {
				msg += fmt.Sprintf("; %d bytes outside frames skipped", d.Skipped())
			}
			s.event(peer, msg)
			return
		}
	}
}

// record is one printed frame; the JSON form is the record itself.
type record struct {
	RX       string          `json:"rx"`
	Peer     string          `json:"peer"`
	Event    string          `json:"event,omitempty"`
	Serial   *uint16         `json:"serial,omitempty"`
	Command  string          `json:"command,omitempty"`
	Code     uint8           `json:"command_code,omitempty"`
	Version  string          `json:"version,omitempty"`
	Time     string          `json:"time,omitempty"`
	Source   string          `json:"source,omitempty"`
	Dest     string          `json:"dest,omitempty"`
	Type     uint8           `json:"type,omitempty"`
	TypeName string          `json:"type_name,omitempty"`
	Objects  []objectRecord  `json:"objects,omitempty"`
	Error    string          `json:"error,omitempty"`
	Reply    string          `json:"reply,omitempty"`
	Hex      string          `json:"hex,omitempty"`
	frame    *gb26875.Frame  // for the readable line
	app      gb26875.AppData // sanitised
}

type objectRecord struct {
	Text  string         `json:"text"`
	Value gb26875.Object `json:"value"`
}

func (s *Server) frame(conn net.Conn, peer string, rx time.Time, f gb26875.Frame, raw []byte) {
	r := s.header(peer, rx, f, raw)
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil {
		r.Error = err.Error()
		if len(f.Data) > 0 {
			r.Error += fmt.Sprintf(" (data % X)", f.Data[:min(len(f.Data), 64)])
		}
	}
	app = Sanitize(app)
	r.app = app
	if app.Type != 0 {
		r.Type, r.TypeName = uint8(app.Type), app.Type.Name()
		for _, o := range app.Objects {
			r.Objects = append(r.Objects, objectRecord{Describe(o), o})
		}
	}
	act := None
	if f.Command == gb26875.CmdSend {
		act = Confirm
		if s.o.Decide != nil {
			act = s.o.Decide(f)
		}
	}
	if s.o.OnFrame != nil {
		s.o.OnFrame(f, act)
	}
	switch act {
	case Confirm:
		r.Reply = s.reply(conn, gb26875.Reply(f, gb26875.CmdConfirm, s.label(rx)))
	case Deny:
		r.Reply = s.reply(conn, gb26875.Reply(f, gb26875.CmdDeny, s.label(rx)))
	case Drop:
		r.Reply = "dropped (no answer)"
	}
	s.print(r)
}

// Send writes f to every connected device (its source replaced by the
// centre's address when one is set) and returns how many got it: tests
// use it to send control commands and queries. The caller numbers f.
func (s *Server) Send(f gb26875.Frame) int {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		if s.reply(c, f) == f.Command.String() {
			n++
		}
	}
	return n
}

func (s *Server) bad(conn net.Conn, peer string, rx time.Time, err error, raw []byte) {
	var fe *gb26875.FrameError
	errors.As(err, &fe)
	r := s.header(peer, rx, fe.Header, raw)
	r.Error = err.Error()
	if deny, ok := gb26875.DenyFor(err, s.label(rx)); ok {
		r.Reply = s.reply(conn, deny)
	}
	s.print(r)
}

func (s *Server) header(peer string, rx time.Time, f gb26875.Frame, raw []byte) record {
	serial := f.Serial
	return record{
		RX: rx.Format(time.RFC3339Nano), Peer: peer, Serial: &serial,
		Command: f.Command.String(), Code: uint8(f.Command),
		Version: fmt.Sprintf("%d.%d", f.Version[0], f.Version[1]),
		Time:    f.Time.String(), Source: f.Source.String(), Dest: f.Dest.String(),
		Hex: hex.EncodeToString(raw), frame: &f,
	}
}

func (s *Server) label(rx time.Time) gb26875.TimeLabel { return gb26875.LabelOf(rx.In(s.o.Location)) }

// reply sends f (its source replaced by the centre's own address when one
// is set) and says what was sent.
func (s *Server) reply(conn net.Conn, f gb26875.Frame) string {
	if s.o.UseAddress {
		f.Source = s.o.Address
	}
	b, err := f.MarshalBinary()
	if err != nil {
		return "none: " + err.Error()
	}
	s.mu.Lock()
	wmu := s.conns[conn]
	s.mu.Unlock()
	if wmu != nil {
		wmu.Lock()
		defer wmu.Unlock()
	}
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := conn.Write(b); err != nil {
		return fmt.Sprintf("%s not sent: %v", f.Command, err)
	}
	return f.Command.String()
}

func (s *Server) event(peer, msg string) {
	s.print(record{RX: s.o.Now().Format(time.RFC3339Nano), Peer: peer, Event: msg})
}

func (s *Server) print(r record) {
	var line string
	if s.o.JSON {
		b, err := json.Marshal(r)
		if err != nil {
			b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
		}
		line = string(b)
	} else {
		line = readable(r, s.o.Location)
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintln(s.o.Out, line)
}

// readable is the one-line form, e.g.
//
//	09:58:35 127.0.0.1:50122 #1 send 000000000379→000000015B38 2012-09-26 09:58:32 · component state: 1/1 smoke detector(40) 10-2 normal+fire "一楼厨房烟感" at 2012-09-26 09:58:02 · → confirm
func readable(r record, loc *time.Location) string {
	at := r.RX
	if t, err := time.Parse(time.RFC3339Nano, r.RX); err == nil {
		at = t.In(loc).Format("15:04:05")
	}
	if r.Event != "" {
		return fmt.Sprintf("%s %s %s", at, r.Peer, r.Event)
	}
	f := r.frame
	parts := []string{fmt.Sprintf("%s %s #%d %s %s→%s %s", at, r.Peer, f.Serial, f.Command, f.Source, f.Dest, f.Time)}
	switch {
	case r.app.Type != 0:
		objs := make([]string, len(r.Objects))
		for i, o := range r.Objects {
			objs[i] = o.Text
		}
		parts = append(parts, r.TypeName+": "+strings.Join(objs, "; "))
	case r.Error == "" && f.Command == gb26875.CmdSend:
		parts = append(parts, "heartbeat (no data)")
	}
	if r.Error != "" {
		parts = append(parts, r.Error)
	}
	if r.Reply != "" {
		parts = append(parts, "→ "+r.Reply)
	}
	return strings.Join(parts, " · ")
}

// Clean strips control and format characters (C0, C1, DEL, bidi
// overrides, zero-width marks) from text that came from the network.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s)
}

// Sanitize returns a with every text field cleaned.
func Sanitize(a gb26875.AppData) gb26875.AppData {
	out := gb26875.AppData{Type: a.Type, Objects: make([]gb26875.Object, len(a.Objects))}
	for i, o := range a.Objects {
		switch v := o.(type) {
		case gb26875.ComponentState:
			v.Description = Clean(v.Description)
			o = v
		case gb26875.ComponentConfig:
			v.Description = Clean(v.Description)
			o = v
		case gb26875.SystemConfig:
			v.Text = Clean(v.Text)
			o = v
		case gb26875.DeviceConfig:
			v.Text = Clean(v.Text)
			o = v
		}
		out.Objects[i] = o
	}
	return out
}

// Describe is the readable form of one object; its texts are printed as
// they are (Sanitize first).
func Describe(o gb26875.Object) string {
	sys := func(s gb26875.System) string { return fmt.Sprintf("%d/%d", s.Type, s.Addr) }
	comp := func(c gb26875.Component) string {
		return fmt.Sprintf("%s %s %s", sys(c.System), c.Type, c.Addr)
	}
	switch v := o.(type) {
	case gb26875.SystemState:
		return fmt.Sprintf("%s %s at %s", sys(v.System), v.Status, v.Time)
	case gb26875.ComponentState:
		return fmt.Sprintf("%s %s %q at %s", comp(v.Component), v.Status, v.Description, v.Time)
	case gb26875.ComponentAnalog:
		val := fmt.Sprintf("%d", v.Value)
		if step, unit, ok := v.Kind.Scale(); ok {
			val = strings.TrimSpace(fmt.Sprintf("%g %s", float64(v.Value)*step, unit))
		}
		return fmt.Sprintf("%s %s %s at %s", comp(v.Component), v.Kind, val, v.Time)
	case gb26875.SystemOperation:
		return fmt.Sprintf("%s %s by operator %d at %s", sys(v.System), v.Flags, v.Operator, v.Time)
	case gb26875.SystemVersion:
		return fmt.Sprintf("%s version %d.%d", sys(v.System), v.Major, v.Minor)
	case gb26875.SystemConfig:
		return fmt.Sprintf("%s %q", sys(v.System), v.Text)
	case gb26875.ComponentConfig:
		return fmt.Sprintf("%s %q", comp(v.Component), v.Description)
	case gb26875.SystemTime:
		return fmt.Sprintf("%s clock %s", sys(v.System), v.Time)
	case gb26875.DeviceState:
		return fmt.Sprintf("device %s at %s", v.Status, v.Time)
	case gb26875.DeviceOperation:
		return fmt.Sprintf("device %s by operator %d at %s", v.Flags, v.Operator, v.Time)
	case gb26875.DeviceVersion:
		return fmt.Sprintf("device version %d.%d", v.Major, v.Minor)
	case gb26875.DeviceConfig:
		return fmt.Sprintf("device %q", v.Text)
	case gb26875.DeviceTime:
		return fmt.Sprintf("device clock %s", v.Time)
	case gb26875.SystemQuery:
		return "system " + sys(v.System)
	case gb26875.ComponentQuery:
		return fmt.Sprintf("system %s component %s", sys(v.System), v.Addr)
	case gb26875.RecordQuery:
		return fmt.Sprintf("system %s %d records from %s", sys(v.System), v.Count, v.Start)
	case gb26875.DeviceRecordQuery:
		return fmt.Sprintf("%d records from %s", v.Count, v.Start)
	case gb26875.Reserved:
		return fmt.Sprintf("reserved %d", v.Byte)
	case gb26875.ClockSync:
		if v.HasTime {
			return "set clock to " + v.Time.String()
		}
		return "set clock to the frame's time label"
	case gb26875.DutyCheck:
		return fmt.Sprintf("duty check (byte %d)", v.Arg)
	}
	return fmt.Sprintf("%+v", o)
}
