package daemon

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// township publishes signed commands to one gateway and reads its replies.
type township struct {
	t       *testing.T
	key     []byte
	prefix  string
	pub     paho.Client
	replies *mqtttest.Recorder
	n       int
	tag     string // in command ids: two townships' ids must differ (the gateway refuses a replayed id)
}

func newTownship(t *testing.T, brokerURL string, key []byte) *township {
	t.Helper()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("township-config"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { pub.Disconnect(0) })
	prefix := "fenghuo/v1/330502103/gw-330502103-test-01/"
	return &township{t: t, key: key, prefix: prefix, pub: pub, replies: mqtttest.Subscribe(t, brokerURL, prefix+"reply")}
}

// push sends the YAML as a signed config command and returns the reply.
func (tw *township) push(yaml string) downlink.Reply {
	tw.t.Helper()
	tw.n++
	cmd := downlink.Command{ID: fmt.Sprintf("cfg-%s%d", tw.tag, tw.n), Cmd: downlink.CmdConfig, By: "织里镇", TS: time.Now().Format(time.RFC3339Nano), Config: yaml}
	body, err := cmd.Marshal()
	if err != nil {
		tw.t.Fatal(err)
	}
	payload, err := downlink.Sign(tw.key, tw.prefix+"cmd", body)
	if err != nil {
		tw.t.Fatal(err)
	}
	if tok := tw.pub.Publish(tw.prefix+"cmd", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		tw.t.Fatalf("publish: %v", tok.Error())
	}
	msgs := tw.replies.WaitFor(tw.n, 30*time.Second)
	rep, err := downlink.ParseReply(msgs[tw.n-1].Payload)
	if err != nil || rep.ID != cmd.ID {
		tw.t.Fatalf("reply %s: %v", msgs[tw.n-1].Payload, err)
	}
	return rep
}

// configOps are the remote config operation records committed so far:
// result and detail.
func configOps(t *testing.T, s *reloadSite) []string {
	t.Helper()
	var out []string
	for _, r := range s.log.all() {
		if r.State != ticket.StateOperation {
			continue
		}
		if tk := decodeNoSchema(t, r.Payload); tk.Operation != nil && tk.Operation.Action == ticket.ActionConfig {
			out = append(out, tk.Operation.Result+": "+tk.Operation.Error)
		}
	}
	return out
}

// TestRemoteConfig: the township pushes whole configs. A broken one is
// refused with every problem and its key path, and the file is kept; a
// good one is written, applied and kept once the buses answer; one whose
// bus does not answer is rolled back by itself within the window, file
// and running config. Every attempt is an operation record.
func TestRemoteConfig(t *testing.T) {
	broker := mqtttest.StartMosquitto(t)
	key := []byte("a township key of at least thirty-two bytes")
	keyFile := filepath.Join(t.TempDir(), "cmd.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := fmt.Sprintf("  cmd_key_file: %s\n  allow_remote_config: true\n", keyFile)
	s := startReloadSiteWith(t, broker.URL(), keys, Options{confirmWindow: 3 * time.Second})
	waitFor(t, 10*time.Second, "the uplink connected", s.d.link.Connected)
	tw := newTownship(t, broker.URL(), key)
	orig := s.text("500ms", "60")

	bad := replaceOnce(s.text("500ms", "65"), "slave: 1, profile: smoke-detector, location: 二楼大厅", "slave: 0, profile: smoke-detector, location: 二楼大厅")
	rep := tw.push(replaceOnce(bad, "  heartbeat: 30s\n", "  heartbeat: 30s\n  heartbeet: 30s\n"))
	if rep.OK || rep.Config == nil || rep.Config.Applied || len(rep.Config.Problems) != 2 ||
		!strings.HasPrefix(rep.Config.Problems[0], "devices[1].slave:") || !strings.HasPrefix(rep.Config.Problems[1], "uplink.heartbeet:") {
		t.Fatalf("broken config: %+v %+v, want refused with devices[1].slave and uplink.heartbeet", rep, rep.Config)
	}
	if got, _ := os.ReadFile(s.path); string(got) != orig {
		t.Fatalf("the refused config touched the file")
	}

	good := s.text("500ms", "65")
	rep = tw.push(good)
	if !rep.OK || !rep.Config.Applied || rep.Config.Hash == "" || rep.Config.ConfirmWindowS != 3 {
		t.Fatalf("good config: %+v %+v", rep, rep.Config)
	}
	waitFor(t, 15*time.Second, "the good config kept", func() bool { return len(configOps(t, s)) == 3 })
	if got, _ := os.ReadFile(s.path); string(got) != good || s.d.loop.ConfigHash() != rep.Config.Hash {
		t.Fatalf("after the good config: file %v, hash %s want %s", string(got) == good, s.d.loop.ConfigHash(), rep.Config.Hash)
	}
	goodHash := rep.Config.Hash
	if _, err := os.Stat(s.path + config.PreviousSuffix); !os.IsNotExist(err) {
		t.Errorf("the previous config file is still there after the push was kept: %v", err)
	}

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing answers there
	rep = tw.push(strings.Replace(good, s.lan2.ln.Addr().String(), deadAddr, 1))
	if !rep.OK || !rep.Config.Applied || rep.Config.Hash == goodHash {
		t.Fatalf("config with a dead bus: %+v %+v, want applied (for now)", rep, rep.Config)
	}
	waitFor(t, 20*time.Second, "the rollback", func() bool { return len(configOps(t, s)) == 5 })
	if got, _ := os.ReadFile(s.path); string(got) != good || s.d.loop.ConfigHash() != goodHash {
		t.Fatalf("after the rollback: file restored %v, hash %s want %s", string(got) == good, s.d.loop.ConfigHash(), goodHash)
	}
	if _, err := os.Stat(s.path + config.PreviousSuffix); !os.IsNotExist(err) {
		t.Errorf("the previous config file is still there after the rollback: %v", err)
	}
	ops := configOps(t, s)
	want := []string{"failed: refused: devices[1].slave", "ok: applied", "ok: kept", "ok: applied", "failed: rolled back: bus lan2 did not answer within 3s"}
	for i, w := range want {
		if !strings.HasPrefix(ops[i], w) {
			t.Errorf("operation record %d: %q, want %q…", i, ops[i], w)
		}
	}
	s.waitPolls(t, 3) // the restored config polls both lines
}

// TestConfigFileSurvivesSIGKILL: a process replacing the config file the
// way a pushed config does, killed with SIGKILL at random moments, always
// leaves a valid config: the old one or the new one, never half.
func TestConfigFileSurvivesSIGKILL(t *testing.T) {
	if os.Getenv("FENGHUO_CONFIG_WRITER") != "" {
		return // the child: TestConfigWriterChild
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "fenghuo.yaml")
	a := fmt.Sprintf(testConfig, "127.0.0.1:1502", "tcp://127.0.0.1:1883", filepath.Join(dir, "outbox.db"))
	b := replaceOnce(a, "poll: 200ms", "poll: 300ms") + strings.Repeat("# padding to make the write take a while\n", 2000)
	for i := range 8 {
		if err := os.WriteFile(path, []byte(a), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestConfigWriterChild$")
		cmd.Env = append(os.Environ(), "FENGHUO_CONFIG_WRITER="+path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the child replacing the file", func() bool {
			got, _ := os.ReadFile(path)
			return len(got) > len(a)
		})
		time.Sleep(time.Duration(i) * 3 * time.Millisecond) // a different moment each round, not a wait for a condition
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != a && string(got) != b {
			t.Fatalf("round %d: after SIGKILL the file is neither config (%d bytes)", i, len(got))
		}
		if _, err := config.Parse(got); err != nil {
			t.Fatalf("round %d: after SIGKILL the config is invalid: %v", i, err)
		}
	}
}

// TestConfigWriterChild is TestConfigFileSurvivesSIGKILL's child: it
// replaces the file with two configs in turn until it is killed.
func TestConfigWriterChild(t *testing.T) {
	path := os.Getenv("FENGHUO_CONFIG_WRITER")
	if path == "" {
		t.Skip("run by TestConfigFileSurvivesSIGKILL")
	}
	a, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(replaceOnce(string(a), "poll: 200ms", "poll: 300ms") + strings.Repeat("# padding to make the write take a while\n", 2000))
	for i := 0; ; i++ {
		data := b
		if i%2 == 1 {
			data = a
		}
		if err := config.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemoteConfigMovesBroker: the township pushes a config with another
// broker: the reply comes on the broker the command came on, the link
// moves (diag status names the new broker) and the push is kept once it
// connected there. A second push names a broker nobody answers at: it is
// rolled back by itself within the window, file and running config, the
// link comes back to the broker before it, and the "rolled back"
// operation record reaches the township there.
func TestRemoteConfigMovesBroker(t *testing.T) {
	a, b := mqtttest.StartMosquitto(t), mqtttest.StartMosquitto(t)
	key := []byte("a township key of at least thirty-two bytes")
	keyFile := filepath.Join(t.TempDir(), "cmd.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := fmt.Sprintf("  cmd_key_file: %s\n  allow_remote_config: true\n", keyFile)
	s := startReloadSiteWith(t, a.URL(), keys, Options{confirmWindow: 3 * time.Second})
	waitFor(t, 10*time.Second, "the uplink connected to A", s.d.link.Connected)
	twA, twB := newTownship(t, a.URL(), key), newTownship(t, b.URL(), key)
	twB.tag = "b"
	ticketsB := mqtttest.Subscribe(t, b.URL(), twB.prefix+"tickets")
	orig := s.text("500ms", "60")

	onB := strings.Replace(orig, "broker: "+a.URL(), "broker: "+b.URL(), 1)
	rep := twA.push(onB)
	if !rep.OK || !rep.Config.Applied {
		t.Fatalf("config moving to B: %+v %+v", rep, rep.Config)
	}
	waitFor(t, 15*time.Second, "the move to B kept", func() bool { return len(configOps(t, s)) == 2 })
	if ops := configOps(t, s); !strings.HasPrefix(ops[1], "ok: kept") {
		t.Fatalf("operation records %q, want the move kept", ops)
	}
	if s.d.link.Broker() != b.URL() || !s.d.link.ConnectedAsConfigured() {
		t.Fatalf("link on %s (connected as configured %v), want %s", s.d.link.Broker(), s.d.link.ConnectedAsConfigured(), b.URL())
	}
	st, err := api.NewClient(s.d.cfg.Local.Socket).Status(t.Context())
	if err != nil || st.Uplink.Broker != b.URL() || !st.Uplink.Connected {
		t.Fatalf("diag status uplink %+v (%v), want connected to %s", st.Uplink, err, b.URL())
	}
	if lr := st.Config.LastReload; lr == nil || !lr.UplinkMoved || lr.UplinkBroker != b.URL() {
		t.Errorf("last reload %+v, want the uplink moved to %s", lr, b.URL())
	}

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "tcp://" + dead.Addr().String()
	dead.Close() // nothing answers there
	rep = twB.push(strings.Replace(onB, "broker: "+b.URL(), "broker: "+deadURL, 1))
	if !rep.OK || !rep.Config.Applied {
		t.Fatalf("config with a dead broker: %+v %+v, want applied (for now)", rep, rep.Config)
	}
	waitFor(t, 20*time.Second, "the rollback", func() bool { return len(configOps(t, s)) == 4 })
	if got, _ := os.ReadFile(s.path); string(got) != onB {
		t.Fatalf("after the rollback the file is not the config before the push:\n%s", got)
	}
	ops := configOps(t, s)
	if want := "failed: rolled back: the uplink did not connect to " + deadURL + " within 3s"; !strings.HasPrefix(ops[3], want) {
		t.Fatalf("operation record %q, want %q", ops[3], want)
	}
	waitFor(t, 15*time.Second, "the link back on B", s.d.link.ConnectedAsConfigured)
	if s.d.link.Broker() != b.URL() {
		t.Fatalf("after the rollback the link is on %s, want %s", s.d.link.Broker(), b.URL())
	}
	ticketsB.WaitUntil("the rolled-back operation record on B", 15*time.Second, func(msgs []mqtttest.Message) bool {
		for _, m := range msgs {
			if tk := decodeNoSchema(t, m.Payload); tk.Operation != nil && strings.HasPrefix(tk.Operation.Error, "rolled back: the uplink did not connect") {
				return true
			}
		}
		return false
	})
	s.waitPolls(t, 3)
}
