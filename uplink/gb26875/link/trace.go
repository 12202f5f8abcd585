package link

import (
	"slices"
	"time"
)

// Trace directions.
const (
	TraceTX = "tx" // a frame the link wrote (sends, confirms, answers, denies)
	TraceRX = "rx" // a frame the link read from the centre (good or denied)
)

// TraceFrame is one frame on the centre link, as the link wrote or read it.
type TraceFrame struct {
	At  time.Time
	Dir string // TraceTX or TraceRX
	Raw []byte // the whole frame, "@@" to "##" (a copy)
	// Err is why a received frame was denied (a bad checksum, length…).
	Err error
}

// MaxTracers bounds the traces followed at once (diag trace sessions).
const MaxTracers = 4

// Trace calls fn with every frame the link writes or reads until stop is
// called; fn runs on the link's goroutines and must not block. It returns
// ok false when MaxTracers traces already run.
func (l *Link) Trace(fn func(TraceFrame)) (stop func(), ok bool) {
	l.tmu.Lock()
	defer l.tmu.Unlock()
	if len(l.tracers) >= MaxTracers {
		return func() {}, false
	}
	if l.tracers == nil {
		l.tracers = map[int]func(TraceFrame){}
	}
	id := l.tnext
	l.tnext++
	l.tracers[id] = fn
	return func() {
		l.tmu.Lock()
		delete(l.tracers, id)
		l.tmu.Unlock()
	}, true
}

// traced hands a frame to the traces, if any.
func (l *Link) traced(dir string, raw []byte, err error) {
	l.tmu.Lock()
	defer l.tmu.Unlock()
	if len(l.tracers) == 0 {
		return
	}
	f := TraceFrame{At: time.Now(), Dir: dir, Raw: slices.Clone(raw), Err: err}
	for _, fn := range l.tracers {
		fn(f)
	}
}

// Tracers is the number of traces running.
func (l *Link) Tracers() int {
	l.tmu.Lock()
	defer l.tmu.Unlock()
	return len(l.tracers)
}
