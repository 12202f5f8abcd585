package config

import (
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// Config is one gateway's configuration file (DESIGN.md §3). The yaml tags
// are the contract's key names; Load decodes, defaults and validates it.
// A *Config returned by Load or Parse is valid and read-only by convention.
type Config struct {
	Gateway     Gateway      `yaml:"gateway"`
	Buses       []Bus        `yaml:"buses"`
	Devices     []Device     `yaml:"devices"`
	ProfilesDir string       `yaml:"profiles_dir"`
	Rules       []rules.Spec `yaml:"rules"`
	Uplink      Uplink       `yaml:"uplink"`
	Buffer      Buffer       `yaml:"buffer"`
	Local       Local        `yaml:"local"`
	Log         Log          `yaml:"log"`

	// profiles is the profile set the config was validated against
	// (embedded profiles plus ProfilesDir), used by Summary.
	profiles *profile.Set
}

// Gateway identifies the gateway and the site it protects.
type Gateway struct {
	ID   string `yaml:"id"` // [a-z0-9-], 3..64, unique per township
	Site Site   `yaml:"site"`
}

// Site is the protected site, copied into every ticket.
type Site struct {
	Name         string `yaml:"name"`          // 云村文化礼堂 (required)
	Township     string `yaml:"township"`      // 织里镇
	TownshipCode string `yaml:"township_code"` // 9-digit division code (required)
	Community    string `yaml:"community"`     // 云村
	Grid         string `yaml:"grid"`          // grid number, free text
	Address      string `yaml:"address"`       // 湖州市吴兴区织里镇云村
	ClientZh     string `yaml:"client_zh"`     // 被保护单位; default: Name
	AreaCode     string `yaml:"area_code"`     // 行政区域代码; default: TownshipCode
	TrackZh      string `yaml:"track_zh"`      // 四平台 track; default: 平安法治
}

// Bus is one Modbus line: a serial port (rtu) or a TCP endpoint (tcp,
// rtu-over-tcp). The gateway is the only master on it.
type Bus struct {
	Name     string        `yaml:"name"`
	Type     string        `yaml:"type"`      // rtu | tcp | rtu-over-tcp
	Address  string        `yaml:"address"`   // host:port (tcp, rtu-over-tcp)
	Port     string        `yaml:"port"`      // serial device (rtu)
	Baud     int           `yaml:"baud"`      // default 9600
	DataBits int           `yaml:"data_bits"` // 7 | 8, default 8
	Parity   string        `yaml:"parity"`    // N | E | O, default N
	StopBits int           `yaml:"stop_bits"` // 1 | 2, default 1
	Timeout  time.Duration `yaml:"timeout"`   // per request, default 300ms
	Retries  int           `yaml:"retries"`   // extra attempts per poll, default 1

	// Gap is the master's silence before each request (rtu, rtu-over-tcp):
	// left out t3.5, a duration, or minimal (see Gap).
	Gap Gap `yaml:"gap,omitempty"`
	// Echo is whether the line echoes each request (rtu, rtu-over-tcp):
	// auto (left out) skips an exact copy of the request before the reply,
	// on requires one, off never skips. It maps to transport.Config.Echo.
	Echo string `yaml:"echo,omitempty"`
}

// Device is one Modbus slave polled through a profile.
type Device struct {
	ID       string         `yaml:"id"`             // [a-z0-9_-], unique
	Name     string         `yaml:"name"`           // 一楼厨房烟感
	Bus      string         `yaml:"bus"`            // a Bus.Name
	Slave    int            `yaml:"slave"`          // 1..247, unique per bus
	Profile  string         `yaml:"profile"`        // a profile name
	Location string         `yaml:"location"`       // 一楼厨房
	Poll     time.Duration  `yaml:"poll,omitempty"` // 0: the profile's default
	Params   map[string]any `yaml:"params"`         // profile parameters
}

// Uplink is the township link.
type Uplink struct {
	MQTT      MQTT          `yaml:"mqtt"`
	Heartbeat time.Duration `yaml:"heartbeat"` // status interval, default 30s
	Telemetry Telemetry     `yaml:"telemetry"`
	// HealthInterval is how often the health report and the self-test
	// event go out (GB/T 45839 5.6.5: at least every 24 h); default 24h.
	HealthInterval time.Duration `yaml:"health_interval"`
	// CmdKeyFile holds the HMAC key of downlink commands; when set, the
	// gateway accepts only signed commands (docs/tickets.md §6).
	CmdKeyFile string `yaml:"cmd_key_file"`
	// AllowRemoteControl lets a signed downlink `control` command reset,
	// mute or self-test a device; off by default (every attempt is logged).
	AllowRemoteControl bool `yaml:"allow_remote_control"`
	// AllowRemoteConfig lets a signed downlink `config` command replace
	// the whole config file; off by default (every attempt is logged).
	AllowRemoteConfig bool `yaml:"allow_remote_config"`
	// ConfigConfirm is how long a pushed config has to prove itself (the
	// uplink connected, every bus answering) before the previous one is
	// restored by itself; default 120s.
	ConfigConfirm time.Duration `yaml:"config_confirm"`
	// CmdKey is CmdKeyFile's key, read by Load; never printed.
	CmdKey Secret `yaml:"-"`
	// GB26875 is the second uplink, to a city remote fire monitoring
	// centre over GB/T 26875.3-2011 (docs/gb26875.md); nil (the key left
	// out) turns it off.
	GB26875 *GB26875 `yaml:"gb26875,omitempty"`
}

// GB26875 is the uplink.gb26875 section (DESIGN.md §3, §10).
type GB26875 struct {
	Centre         string        `yaml:"centre"`          // host:port of the centre (TCP), required
	Address        int64         `yaml:"address"`         // this device's address, 0..2^48-1 (decimal), required
	CentreAddress  int64         `yaml:"centre_address"`  // the centre's address, default 0
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"` // wait for confirm (3), default 10s
	Retries        int           `yaml:"retries"`         // retransmissions, default 3, 1..10
	Heartbeat      time.Duration `yaml:"heartbeat"`       // idle-link heartbeat, default 30s
	TimeZone       string        `yaml:"time_zone"`       // ±HH:MM of the time labels, default +08:00
}

// Defaults of uplink.gb26875 (GB/T 26875.3-2011 5.2.3).
const (
	DefaultGBConfirmTimeout = 10 * time.Second
	DefaultGBRetries        = 3
	DefaultGBHeartbeat      = 30 * time.Second
	DefaultGBTimeZone       = "+08:00"
)

func (g *GB26875) setDefaults() {
	g.ConfirmTimeout, g.Retries, g.Heartbeat, g.TimeZone = DefaultGBConfirmTimeout, DefaultGBRetries, DefaultGBHeartbeat, DefaultGBTimeZone
}

// MQTT is the broker connection.
type MQTT struct {
	Broker       string        `yaml:"broker"`    // tcp|ssl|tls|ws|wss|mqtt|mqtts://host:port
	ClientID     string        `yaml:"client_id"` // default: Gateway.ID
	Username     string        `yaml:"username"`
	Password     Secret        `yaml:"password"`      // or read from PasswordFile
	PasswordFile string        `yaml:"password_file"` // its trimmed content becomes Password
	CAFile       string        `yaml:"ca_file"`
	CertFile     string        `yaml:"cert_file"`
	KeyFile      string        `yaml:"key_file"`
	TopicPrefix  string        `yaml:"topic_prefix"` // default fenghuo/v1
	Keepalive    time.Duration `yaml:"keepalive"`    // default 30s
	// ConnectSpread spreads a fleet's reconnections after a broker restart
	// (mqttlink.Options.ConnectSpread): default 10s, 0 off.
	ConnectSpread time.Duration `yaml:"connect_spread"`
	AllowInsecure bool          `yaml:"allow_insecure"`
}

// Telemetry is the periodic snapshot of device values.
type Telemetry struct {
	Enabled  bool          `yaml:"enabled"`  // default true
	Interval time.Duration `yaml:"interval"` // default 60s
	// MinGap is the least time between two reports by exception (a value
	// past its profile deadband); 0 turns them off. Default 10s.
	MinGap time.Duration `yaml:"min_gap"`
}

// Buffer is the durable outbox.
type Buffer struct {
	Path    string   `yaml:"path"`     // default /var/lib/fenghuo/outbox.db
	MaxSize ByteSize `yaml:"max_size"` // default 256MiB
	// FallbackPath is where a stop during a storage fault writes the events
	// the outbox could not store; the next start imports them first.
	// "" (default): <path>.fallback.jsonl, beside the outbox.
	FallbackPath string `yaml:"fallback_path"`
}

// Local is the maintenance surface on the gateway itself.
type Local struct {
	Socket  string `yaml:"socket"`  // unix socket of the local API; "" disables it
	Metrics string `yaml:"metrics"` // host:port of /metrics; "" disables it
}

// Log is the daemon's logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Defaults of DESIGN.md §3, applied to keys the file (and the
// environment) leave out.
const (
	DefaultBaud        = 9600
	DefaultDataBits    = 8
	DefaultParity      = "N"
	DefaultStopBits    = 1
	DefaultTimeout     = 300 * time.Millisecond
	DefaultRetries     = 1
	DefaultTopicPrefix = "fenghuo/v1"
	DefaultKeepalive   = 30 * time.Second
	// DefaultConnectSpread is mqttlink.DefaultConnectSpread: 1 000
	// gateways come back at about 100 a second (docs/operations.md).
	DefaultConnectSpread = 10 * time.Second
	// maxConnectSpread keeps the spread under the 100 s after which an
	// undelivered ticket raises the transmission fault (R25).
	maxConnectSpread     = 100 * time.Second
	DefaultHeartbeat     = 30 * time.Second
	DefaultTelemetry     = 60 * time.Second
	DefaultTelemetryGap  = 10 * time.Second
	DefaultHealth        = 24 * time.Hour
	DefaultConfigConfirm = 120 * time.Second // uplink.config_confirm
	DefaultBufferPath    = "/var/lib/fenghuo/outbox.db"
	DefaultMaxSize       = 256 * MiB
	DefaultSocket        = "/run/fenghuo/fenghuo.sock"
	DefaultMetrics       = "127.0.0.1:9108"
	DefaultTrackZh       = "平安法治"
)

// setDefaults fills the top-level defaults before decoding; a key present
// in the file overrides them, even with a zero value.
func (c *Config) setDefaults() {
	c.Uplink.MQTT.TopicPrefix = DefaultTopicPrefix
	c.Uplink.MQTT.Keepalive = DefaultKeepalive
	c.Uplink.MQTT.ConnectSpread = DefaultConnectSpread
	c.Uplink.Heartbeat = DefaultHeartbeat
	c.Uplink.Telemetry = Telemetry{Enabled: true, Interval: DefaultTelemetry, MinGap: DefaultTelemetryGap}
	c.Uplink.HealthInterval = DefaultHealth
	c.Uplink.ConfigConfirm = DefaultConfigConfirm
	c.Buffer = Buffer{Path: DefaultBufferPath, MaxSize: DefaultMaxSize}
	c.Local = Local{Socket: DefaultSocket, Metrics: DefaultMetrics}
	c.Log = Log{Level: "info", Format: "text"}
}

// setDefaults fills a bus's line defaults before its keys are decoded.
func (b *Bus) setDefaults() {
	b.Baud, b.DataBits, b.Parity, b.StopBits = DefaultBaud, DefaultDataBits, DefaultParity, DefaultStopBits
	b.Timeout, b.Retries = DefaultTimeout, DefaultRetries
}

// deriveDefaults fills the defaults that depend on other keys.
func (c *Config) deriveDefaults() {
	if c.Uplink.MQTT.ClientID == "" {
		c.Uplink.MQTT.ClientID = c.Gateway.ID
	}
	s := &c.Gateway.Site
	if s.AreaCode == "" {
		s.AreaCode = s.TownshipCode
	}
	if s.ClientZh == "" {
		s.ClientZh = s.Name
	}
	if s.TrackZh == "" {
		s.TrackZh = DefaultTrackZh
	}
}

// defaulter is implemented by types whose zero value is not their default.
type defaulter interface{ setDefaults() }

// Profiles returns the profile set the config was validated against
// (embedded profiles plus ProfilesDir): the set to run it with, so that
// what was checked is what runs and profiles_dir is read once.
func (c *Config) Profiles() *profile.Set { return c.profiles }
