package transport_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/goburrow/modbus"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// TestWireSweep is the wire-time benchmark of issue 3 item 7: 32 simulated
// slaves × 10 holding registers behind a paced 9600 8N1 link (10 bits per
// character), each slave answering t3.5 after the request (it sees the
// frame end by silence, as the spec says). It reports fenghuo's sweep
// against the wire minimum, with the minimal-gap option, goburrow's stock
// RTU transporter and mbpoll (libmodbus) on the same link. It takes about
// 15 s; run it with FENGHUO_BENCH_BUS=1.
func TestWireSweep(t *testing.T) {
	if os.Getenv("FENGHUO_BENCH_BUS") == "" {
		t.Skip("set FENGHUO_BENCH_BUS=1 to run the paced-link benchmark")
	}
	const (
		baud   = 9600
		slaves = 32
		regs   = 10
		sweeps = 3
	)
	char := 10 * time.Second / baud
	t35 := 35 * 11 * time.Second / (10 * baud)
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	pty := modbustest.StartPty(t)
	srv := sim.NewServer()
	p, _ := set.Get("smoke-detector")
	for id := 1; id <= slaves; id++ {
		srv.AddDevice(uint8(id), p)
	}
	master, slave := net.Pipe()
	go srv.ServeRTU(slave, sim.RTUOptions{Turnaround: t35})
	modbustest.StartPacedLink(t, pty.B, master, char)

	perTx := time.Duration(8+5+2*regs)*char + 2*t35
	minimum := slaves * perTx
	t.Logf("wire minimum: %d × (%d chars × %v + 2 × t3.5 %v) = %v", slaves, 8+5+2*regs, char, t35, minimum)

	sweep := func(read func(id uint8) error) time.Duration {
		var times []time.Duration
		for range sweeps + 1 { // the first sweep warms up
			start := time.Now()
			for id := uint8(1); id <= slaves; id++ {
				if err := read(id); err != nil {
					t.Fatalf("slave %d: %v", id, err)
				}
			}
			times = append(times, time.Since(start))
		}
		times = times[1:]
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times[len(times)/2]
	}
	fenghuo := func(gap time.Duration) time.Duration {
		tr, err := transport.Open(transport.Config{Type: "rtu", Port: pty.A, Baud: baud, Timeout: time.Second, Gap: gap})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		return sweep(func(id uint8) error {
			_, err := tr.Read(context.Background(), id, 3, 0, regs)
			return err
		})
	}
	report := func(name string, d time.Duration) {
		t.Logf("%-32s %8v  %.3f × wire minimum", name, d.Round(time.Millisecond), float64(d)/float64(minimum))
	}
	f := fenghuo(0)
	report("fenghuo (t3.5 kept)", f)
	nogap := fenghuo(-1)
	report("fenghuo (Gap: -1, no gap)", nogap)

	h := modbus.NewRTUClientHandler(pty.A)
	h.BaudRate, h.DataBits, h.Parity, h.StopBits, h.Timeout = baud, 8, "N", 1, time.Second
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	c := modbus.NewClient(h)
	report("goburrow v0.1.0 stock RTU", sweep(func(id uint8) error {
		h.SlaveId = id
		_, err := c.ReadHoldingRegisters(0, regs)
		return err
	}))
	h.Close()

	var mb time.Duration
	if _, err := exec.LookPath("mbpoll"); err == nil {
		mb = sweep(func(id uint8) error {
			if id != 1 {
				return nil // one mbpoll run polls all 32
			}
			out, err := exec.Command("mbpoll", "-m", "rtu", "-b", "9600", "-P", "none", "-a", "1:32",
				"-r", "1", "-c", "10", "-1", "-q", pty.A).CombinedOutput()
			if err != nil {
				t.Logf("mbpoll: %s", out)
			}
			return err
		})
		report("mbpoll 1.4 (libmodbus, no gap; with exec)", mb)
	}
	if mb > 0 {
		t.Logf("fenghuo / mbpoll: %.3f with t3.5, %.3f without a gap", float64(f)/float64(mb), float64(nogap)/float64(mb))
	}
	if ratio := float64(f) / float64(minimum); ratio > 1.10 {
		t.Errorf("fenghuo's sweep is %.3f × the wire minimum, want ≤ 1.10", ratio)
	}
}
