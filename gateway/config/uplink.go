package config

import (
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

var (
	brokerSchemes    = []string{"tcp", "ssl", "tls", "ws", "wss", "mqtt", "mqtts"}
	plaintextSchemes = []string{"tcp", "ws", "mqtt"}
	logLevels        = []string{"debug", "info", "warn", "error"}
	logFormats       = []string{"text", "json"}
)

// validateUplink checks the broker, the credentials and the timings.
func (c *Config) validateUplink(p *problems) {
	m := c.Uplink.MQTT
	if u := checkBroker(p, m.Broker); u != nil {
		c.checkPlaintext(p, u)
	}
	if m.Username == "" && !m.Password.IsZero() {
		p.add(passwordKey(m), "is set but username is empty (MQTT sends a password only with a username)")
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		p.add("uplink.mqtt.cert_file", "cert_file and key_file go together (client certificate and its key)")
	}
	checkFile(p, "uplink.mqtt.ca_file", m.CAFile)
	checkFile(p, "uplink.mqtt.cert_file", m.CertFile)
	checkFile(p, "uplink.mqtt.key_file", m.KeyFile)
	checkTopicPrefix(p, m.TopicPrefix)
	positive(p, "uplink.mqtt.keepalive", m.Keepalive, time.Second)
	if m.ConnectSpread < 0 || m.ConnectSpread >= maxConnectSpread {
		p.add("uplink.mqtt.connect_spread", "%s is out of range 0..%s (0: off; longer would raise the transmission fault at every broker restart)", m.ConnectSpread, maxConnectSpread)
	}
	positive(p, "uplink.heartbeat", c.Uplink.Heartbeat, time.Second)
	if c.Uplink.AllowRemoteControl && c.Uplink.CmdKeyFile == "" {
		p.add("uplink.allow_remote_control", "needs uplink.cmd_key_file: a control command must be signed, and without a key none can be")
	}
	if c.Uplink.AllowRemoteConfig && c.Uplink.CmdKeyFile == "" {
		p.add("uplink.allow_remote_config", "needs uplink.cmd_key_file: a config command must be signed, and without a key none can be")
	}
	if w := c.Uplink.ConfigConfirm; w < 10*time.Second || w > 30*time.Minute {
		p.add("uplink.config_confirm", "%s is out of range 10s..30m", w)
	}
	if h := c.Uplink.HealthInterval; h < time.Minute || h > 24*time.Hour {
		p.add("uplink.health_interval", "%s is out of range 1m..24h (GB/T 45839 5.6.5: a health report at least every 24 h)", h)
	}
	if c.Uplink.Telemetry.Enabled {
		t := c.Uplink.Telemetry
		positive(p, "uplink.telemetry.interval", t.Interval, time.Second)
		if t.Interval > 24*time.Hour {
			p.add("uplink.telemetry.interval", "%s is longer than 24h", t.Interval)
		}
		if t.MinGap != 0 {
			positive(p, "uplink.telemetry.min_gap", t.MinGap, time.Second)
		}
	}
	c.readCmdKey(p)
	c.validateGB26875(p)
}

// readCmdKey reads uplink.cmd_key_file into CmdKey: a regular file not
// accessible to other users, at least downlink.MinKeyLen bytes. Messages
// name the file, never the key.
func (c *Config) readCmdKey(p *problems) {
	f := c.Uplink.CmdKeyFile
	if f == "" {
		return
	}
	k, err := downlink.LoadKey(f)
	if err != nil {
		p.add("uplink.cmd_key_file", "%v", err)
		return
	}
	c.Uplink.CmdKey = NewSecret(string(k))
}

// checkBroker parses the broker URL; it returns nil when it is unusable.
func checkBroker(p *problems, broker string) *url.URL {
	const key = "uplink.mqtt.broker"
	if broker == "" {
		p.add(key, "is required (e.g. tls://mqtt.township.example:8883)")
		return nil
	}
	u, err := url.Parse(broker)
	if err != nil || u.Scheme == "" || u.Host == "" {
		p.add(key, "%q is not scheme://host:port (e.g. tls://mqtt.township.example:8883)", sanitize.URL(broker))
		return nil
	}
	if !slices.Contains(brokerSchemes, u.Scheme) {
		p.add(key, "scheme %q is not one of %s%s", u.Scheme, strings.Join(brokerSchemes, ", "), hint(u.Scheme, brokerSchemes))
		return nil
	}
	if u.Hostname() == "" {
		p.add(key, "%q has no host", u.Redacted())
		return nil
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			p.add(key, "%q has no valid port (1..65535)", u.Redacted())
			return nil
		}
	}
	if u.User != nil {
		p.add(key, "%q carries credentials; set uplink.mqtt.username and password instead", u.Redacted())
		return nil
	}
	return u
}

// checkPlaintext refuses a password sent in clear to a remote broker, and
// TLS files that a plaintext scheme would ignore.
func (c *Config) checkPlaintext(p *problems, u *url.URL) {
	m := c.Uplink.MQTT
	if !slices.Contains(plaintextSchemes, u.Scheme) {
		return
	}
	if !m.Password.IsZero() && !isLoopback(u.Hostname()) && !m.AllowInsecure {
		p.add(passwordKey(m), "would be sent in plaintext to %s; use tls:// (or ssl://, wss://, mqtts://), or set uplink.mqtt.allow_insecure: true", u.Redacted())
	}
	for key, f := range map[string]string{"ca_file": m.CAFile, "cert_file": m.CertFile, "key_file": m.KeyFile} {
		if f != "" {
			p.add("uplink.mqtt."+key, "is not used with a %s:// broker (use tls:// for TLS)", u.Scheme)
		}
	}
}

// passwordKey is where the password came from, for messages.
func passwordKey(m MQTT) string {
	if m.PasswordFile != "" {
		return "uplink.mqtt.password_file"
	}
	return "uplink.mqtt.password"
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkFile reports a set path that is not a readable regular file.
func checkFile(p *problems, key, path string) {
	if path == "" {
		return
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		p.add(key, "%s does not exist or cannot be read", path)
	case st.IsDir():
		p.add(key, "%s is a directory, not a file", path)
	}
}

// checkTopicPrefix requires a prefix of MQTT topic levels without
// wildcards.
func checkTopicPrefix(p *problems, prefix string) {
	const key = "uplink.mqtt.topic_prefix"
	switch {
	case prefix == "":
		p.add(key, "is required (default fenghuo/v1)")
	case strings.ContainsAny(prefix, "+#"):
		p.add(key, "%q must not contain the wildcards + or #", prefix)
	case strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") || strings.Contains(prefix, "//"):
		p.add(key, "%q must not start or end with / or have empty levels", prefix)
	}
}

// positive requires d >= min.
func positive(p *problems, key string, d, min time.Duration) {
	if d < min {
		p.add(key, "%s must be at least %s", d, min)
	}
}

// validateLocal checks buffer, local and log.
func (c *Config) validateLocal(p *problems) {
	if c.Buffer.Path == "" {
		p.add("buffer.path", "is required (e.g. /var/lib/fenghuo/outbox.db)")
	}
	if c.Buffer.MaxSize < MiB {
		p.add("buffer.max_size", "%s is too small (at least 1MiB)", c.Buffer.MaxSize)
	}
	if n := len(c.Local.Socket); n > MaxSocketBytes {
		p.add("local.socket", "is %d bytes long; a unix socket path is at most %d bytes (choose a shorter directory)", n, MaxSocketBytes)
	}
	if a := c.Local.Metrics; a != "" {
		if msg := checkHostPort(a, true); msg != "" {
			p.add("local.metrics", "%q %s (or \"\" to disable metrics)", a, msg)
		}
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		p.add("log.level", "%q is not one of %s%s", c.Log.Level, strings.Join(logLevels, ", "), hint(c.Log.Level, logLevels))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		p.add("log.format", "%q is not one of %s%s", c.Log.Format, strings.Join(logFormats, ", "), hint(c.Log.Format, logFormats))
	}
}
