package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCmdKeyFile: uplink.cmd_key_file is read into CmdKey and never
// printed; a key file other users can read, or a short key, is a problem at
// its key that does not show the key.
func TestCmdKeyFile(t *testing.T) {
	dir := t.TempDir()
	const secret = "c0ffee-c0ffee-c0ffee-c0ffee-c0ffee-c0ffee"
	write := func(name, text string, mode os.FileMode) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, mode); err != nil {
			t.Fatal(err)
		}
		return f
	}
	c := mustParse(t, minimal+"  cmd_key_file: "+write("ok.key", secret+"\n", 0o600)+"\n")
	if got := c.Uplink.CmdKey.Reveal(); got != secret {
		t.Errorf("CmdKey = %q", got)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "cmd_key_file") {
		t.Errorf("config print shows the key or not the key file:\n%s", out.String())
	}
	for name, c := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"world.key": {secret, 0o644, "uplink.cmd_key_file: " + filepath.Join(dir, "world.key") + " is accessible to other users (mode 0644)"},
		"short.key": {"abc", 0o600, "uplink.cmd_key_file: " + filepath.Join(dir, "short.key") + " holds 3 bytes, want at least 32"},
	} {
		_, err := Parse([]byte(minimal + "  cmd_key_file: " + write(name, c.text, c.mode) + "\n"))
		got := problemText(err)
		if !strings.HasPrefix(got, c.want) || strings.Contains(got, secret) {
			t.Errorf("%s: got %q, want %q", name, got, c.want)
		}
	}
}
