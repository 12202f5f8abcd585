package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
)

func TestStationCentreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"station", "centre"},
		{"station", "centre", "--listen", "127.0.0.1:0", "--address", "0x1000000000000"},
		{"station", "centre", "--listen", "127.0.0.1:0", "--address", "centre"},
	} {
		if code, _, stderr := fenghuo(t, args...); code != 2 {
			t.Errorf("%v: exit %d (%s)", args, code, stderr)
		}
	}
	if code, _, _ := fenghuo(t, "station", "centre", "--listen", "256.0.0.1:1"); code != 1 {
		t.Errorf("unusable listen address: exit %d", code)
	}
}

// The command end to end: a device sends a smoke fire alarm over TCP and
// gets the confirm from the address given with --address.
func TestStationCentreConfirms(t *testing.T) {
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- fenghuoCtx(ctx, []string{"station", "centre", "--listen", "127.0.0.1:0", "--address", "0x15B38"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	}()
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		if _, after, ok := strings.Cut(stderr.String(), "listening on "); ok && strings.HasSuffix(after, "\n") {
			addr = strings.TrimSpace(after)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if addr == "" {
		t.Fatalf("no listening line: %q", stderr.String())
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ts := gb26875.LabelOf(time.Date(2026, 12, 4, 8, 15, 2, 0, time.UTC))
	app, err := gb26875.AppData{Type: gb26875.TypeComponentState, Objects: []gb26875.Object{gb26875.ComponentState{
		Component: gb26875.Component{System: gb26875.System{Type: gb26875.SystemFireAlarm, Addr: 1},
			Type: gb26875.ComponentPointPhotoelectric, Addr: gb26875.ComponentAddr{Zone: 1, Position: 3}},
		Status: gb26875.StatusNormal | gb26875.StatusFire, Description: "一楼厨房烟感", Time: ts,
	}}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	frame, err := gb26875.Frame{Serial: 41, Version: gb26875.Version2011, Time: ts, Source: 0x0379, Dest: 1, Command: gb26875.CmdSend, Data: app}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := gb26875.NewDecoder(conn).Next()
	if err != nil || f.Command != gb26875.CmdConfirm || f.Serial != 41 || f.Source != 0x15B38 || f.Dest != 0x0379 {
		t.Fatalf("answer %+v %v", f, err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !strings.Contains(stdout.String(), "→ confirm"); {
		time.Sleep(5 * time.Millisecond)
	}
	want := `#41 send 000000000379→000000000001 2026-12-04 08:15:02 · component state: 1/1 point photoelectric smoke detector(42) 1-3 normal+fire "一楼厨房烟感" at 2026-12-04 08:15:02 · → confirm`
	if !strings.Contains(stdout.String(), want) {
		t.Fatalf("stdout lacks\n%s\n%s", want, stdout.String())
	}
}
