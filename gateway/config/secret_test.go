package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const secretValue = "s3cret-Township-Pw"

// TestSecretRedacted: the password never appears in fmt, JSON, YAML or
// slog output of the Secret, the MQTT section or the whole config.
func TestSecretRedacted(t *testing.T) {
	c := mustParse(t, minimal+"    password: "+secretValue+"\n")
	if c.Uplink.MQTT.Password.Reveal() != secretValue {
		t.Fatal("Reveal lost the value")
	}
	outputs := map[string]string{}
	for name, v := range map[string]any{"secret": c.Uplink.MQTT.Password, "mqtt": c.Uplink.MQTT, "config": c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			outputs[name+" "+verb] = fmt.Sprintf(verb, v)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs[name+" json"] = string(j)
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs[name+" yaml"] = string(y)
		for hname, h := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var b bytes.Buffer
			slog.New(h(&b)).Info("loaded", "v", v, "pw", c.Uplink.MQTT.Password)
			outputs[name+" slog "+hname] = b.String()
		}
	}
	var printed bytes.Buffer
	if err := c.Print(&printed); err != nil {
		t.Fatal(err)
	}
	outputs["Print"] = printed.String()
	hexed := fmt.Sprintf("%x", secretValue)
	for name, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(strings.ToLower(out), hexed) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	for _, name := range []string{"secret %v", "secret json", "mqtt yaml", "Print", "mqtt slog json", "secret slog text"} {
		if !strings.Contains(outputs[name], Redacted) {
			t.Errorf("%s does not say %s: %s", name, Redacted, outputs[name])
		}
	}
}

// TestPrintLoadsBack: Print's output is a valid config again.
func TestPrintLoadsBack(t *testing.T) {
	c := mustParse(t, minimal)
	var b bytes.Buffer
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b.Bytes()); err != nil {
		t.Fatalf("printed config does not load:\n%s\n%s", problemText(err), b.String())
	}
}

func ExampleSecret() {
	pw := NewSecret("hunter2")
	fmt.Println(pw, pw.Reveal() == "hunter2")
	slog.New(slog.NewTextHandler(stdout{}, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("mqtt", "password", pw)
	// Output:
	// REDACTED true
	// level=INFO msg=mqtt password=REDACTED
}

type stdout struct{}

func (stdout) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}
