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
	cmd := downlink.Command{ID: fmt.Sprintf("cfg-%d", tw.n), Cmd: downlink.CmdConfig, By: "织里镇", TS: time.Now().Format(time.RFC3339Nano), Config: yaml}
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
	if _, err := os.Stat(s.path + PreviousSuffix); !os.IsNotExist(err) {
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
	if _, err := os.Stat(s.path + PreviousSuffix); !os.IsNotExist(err) {
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

// TestRestoreUnconfirmed: a gateway that died in a push's confirm window
// (the pushed file in place, the previous one beside it) starts again on
// the previous config.
func TestRestoreUnconfirmed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fenghuo.yaml")
	for name, text := range map[string]string{path: "pushed\n", path + PreviousSuffix: "previous\n"} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	restored, err := RestoreUnconfirmed(path)
	if got, _ := os.ReadFile(path); err != nil || !restored || string(got) != "previous\n" {
		t.Fatalf("RestoreUnconfirmed: %v %v, file %q; want the previous file back", restored, err, got)
	}
	if restored, err := RestoreUnconfirmed(path); err != nil || restored {
		t.Fatalf("second RestoreUnconfirmed: %v %v, want nothing to do", restored, err)
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
		if err := writeConfigFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
