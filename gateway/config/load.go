package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override: FENGHUO_ plus the key path
// in upper case with "." replaced by "_", e.g. FENGHUO_UPLINK_MQTT_PASSWORD
// for uplink.mqtt.password. Only keys outside lists (buses, devices, rules)
// can be overridden.
const EnvPrefix = "FENGHUO"

// Load reads, decodes and validates the config file at path, with
// FENGHUO_ environment overrides and defaults applied, and the profiles of
// profiles_dir loaded to check device and rule references. It reports
// every problem at once as an errors.Join of *FieldError in file order,
// and returns a nil Config then. Load opens no bus and no network
// connection; it reads only the config, password_file, the TLS files'
// existence and profiles_dir.
func Load(path string) (*Config, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse is Load for a config held in memory (tests, the embedded demo
// config). Relative file paths in it are relative to the working directory.
func Parse(data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FieldError{Msg: "the config is empty (start from configs/example.yaml)"}
	}
	raw, err := readRaw(data)
	if err != nil {
		return nil, err
	}
	p := newProblems()
	p.lines = keyLines(data)
	if err := applyEnv(raw); err != nil {
		return nil, err
	}
	c := &Config{}
	c.setDefaults()
	decoder{p}.decode("", raw, reflect.ValueOf(c).Elem())
	c.readPasswordFile(p)
	c.deriveDefaults()
	c.validate(p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// readRaw reads the YAML through viper (keys lower-cased).
func readRaw(data []byte) (map[string]any, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &FieldError{Msg: fmt.Sprintf("not valid YAML: %v", unwrapAll(err))}
	}
	return v.AllSettings(), nil
}

// unwrapAll returns the innermost error, which carries the YAML line.
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// applyEnv sets every scalar key that has a FENGHUO_ variable into raw.
func applyEnv(raw map[string]any) error {
	ev := viper.New()
	ev.SetEnvPrefix(EnvPrefix)
	ev.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, key := range EnvKeys() {
		if err := ev.BindEnv(key); err != nil {
			return err
		}
		if ev.IsSet(key) {
			setRaw(raw, key, envString(ev.GetString(key)))
		}
	}
	return nil
}

// EnvKeys lists the key paths that FENGHUO_ variables can override.
func EnvKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for _, f := range yamlFields(t) {
			ft, key := t.Field(f.index).Type, join(prefix, f.name)
			switch {
			case ft.Kind() == reflect.Slice || ft == anyMapType:
			case ft.Kind() == reflect.Struct && ft != secretType:
				walk(key, ft)
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
				walk(key, ft.Elem()) // an optional section: a variable turns it on
			default:
				keys = append(keys, key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
}

// envName is the variable that overrides key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// setRaw sets a dotted key in nested maps, creating them; a non-map in the
// way is left for the decoder to report.
func setRaw(m map[string]any, key string, val any) {
	head, rest, nested := strings.Cut(key, ".")
	if !nested {
		m[head] = val
		return
	}
	if m[head] == nil {
		m[head] = map[string]any{}
	}
	if sub, ok := m[head].(map[string]any); ok {
		setRaw(sub, rest, val)
	}
}

// keyLines maps each key path of the file to its line, for sorting
// problems in file order.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return lines
	}
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := join(path, strings.ToLower(n.Content[i].Value))
				lines[k] = n.Content[i].Line
				walk(k, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				k := fmt.Sprintf("%s[%d]", path, i)
				lines[k] = item.Line
				walk(k, item)
			}
		}
	}
	walk("", doc.Content[0])
	return lines
}

// readPasswordFile replaces the password with the trimmed content of
// password_file when that is set.
func (c *Config) readPasswordFile(p *problems) {
	m := &c.Uplink.MQTT
	if m.PasswordFile == "" {
		return
	}
	if !m.Password.IsZero() {
		p.add("uplink.mqtt.password_file", "set either password or password_file, not both")
		return
	}
	b, err := os.ReadFile(m.PasswordFile)
	if err != nil {
		p.add("uplink.mqtt.password_file", "cannot be read: %v", err)
		return
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		p.add("uplink.mqtt.password_file", "%s is empty", m.PasswordFile)
		return
	}
	m.Password = NewSecret(pw)
}
