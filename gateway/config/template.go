package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// TemplateOptions are what `fenghuo config init` knows before the site
// visit. A zero Baud or Parity takes the bus defaults.
type TemplateOptions struct {
	GatewayID, TownshipCode, SiteName string
	BusName, BusType                  string // rtu | tcp | rtu-over-tcp
	Port, Address, Parity             string
	Baud                              int
	Broker                            string
	// Scan is the result of `fenghuo diag scan --json`: one device per
	// slave that matched a shipped profile, the others commented out;
	// nil: one example device.
	Scan     *api.ScanResult
	Profiles *profile.Set
}

// Draft is a starting config and the comments that say what to fill in
// on site (TODO). It marshals to YAML with the comments (MarshalYAML),
// keeping the keys an installer fills in; every other key takes its
// default when the file is loaded.
type Draft struct {
	Config Config
	head   string
	notes  map[string]string // "gateway.id", "devices.0.name": line comments
	heads  map[string]string // "devices.1": a head comment (devices commented out)
	foot   string            // devices commented out after the last
}

// Template builds the starting config of o; the line values it does not
// set are the config's own defaults.
func Template(o TemplateOptions) (*Draft, error) {
	d := &Draft{notes: map[string]string{}, heads: map[string]string{}}
	c := &d.Config
	c.setDefaults()
	c.Gateway = Gateway{ID: o.GatewayID, Site: Site{Name: o.SiteName, TownshipCode: o.TownshipCode}}
	c.Uplink.MQTT.Broker = o.Broker
	bus := Bus{}
	bus.setDefaults()
	bus.Name, bus.Type, bus.Port, bus.Address = o.BusName, o.BusType, o.Port, o.Address
	if o.Baud != 0 {
		bus.Baud = o.Baud
	}
	if o.Parity != "" {
		bus.Parity = o.Parity
	}
	c.Buses = []Bus{bus}
	d.head = "# fenghuo gateway config, written by `fenghuo config init`"
	if s := o.Scan; s != nil {
		d.head += fmt.Sprintf(" from a scan of bus %s (slaves %d..%d, %d found)", s.Bus, s.From, s.To, len(s.Found))
	}
	d.head += ".\n# Fill in every TODO, then: fenghuo config check FILE [--print]\n# Every key: configs/example.yaml and docs/config.md."
	d.note("gateway.id", "TODO: unique in the township; [a-z0-9-], 3..64")
	d.note("gateway.site.name", "TODO: the protected site, shown on tickets")
	d.note("gateway.site.township", "TODO: e.g. 织里镇")
	d.note("gateway.site.township_code", "TODO: the township's 9-digit division code")
	d.note("buses.0.parity", "N | E | O: check the device label")
	d.note("buses.0.address", "host:port")
	d.note("uplink.mqtt.broker", "TODO: the township's broker")
	d.note("uplink.mqtt.username", "TODO")
	d.note("uplink.mqtt.password_file", "e.g. /etc/fenghuo/mqtt.pass, or FENGHUO_UPLINK_MQTT_PASSWORD")
	d.note("uplink.mqtt.ca_file", "PEM CA bundle for tls://; default: the system roots")
	if o.Scan == nil {
		d.exampleDevice(o)
		return d, nil
	}
	return d, d.scannedDevices(o)
}

func (d *Draft) note(path, text string) { d.notes[path] = "# " + text }

// exampleDevice is the one device of a config written without a scan.
func (d *Draft) exampleDevice(o TemplateOptions) {
	d.Config.Devices = []Device{{ID: "smoke-1", Name: "TODO 设备名称", Bus: o.BusName, Slave: 1, Profile: "smoke-detector"}}
	d.note("devices.0.id", "TODO: one entry per device; `fenghuo diag scan` finds them")
	d.note("devices.0.name", "shown on tickets, e.g. 一楼厨房烟感")
	d.note("devices.0.profile", strings.Join(o.Profiles.Names(), " | "))
	d.note("devices.0.location", "TODO: e.g. 一楼厨房")
}

// scannedDevices writes one device per slave of the scan that matched a
// shipped profile, in slave order; the others are commented out with a
// TODO above the next device (or after the last).
func (d *Draft) scannedDevices(o TemplateOptions) error {
	found := slices.Clone(o.Scan.Found)
	slices.SortFunc(found, func(a, b api.ScanFound) int { return a.Slave - b.Slave })
	var pending []string
	for _, f := range found {
		p, ok := o.Profiles.Get(f.Profile)
		if f.Profile == "" || !ok {
			pending = append(pending, unmatchedDevice(f, o))
			continue
		}
		i := len(d.Config.Devices)
		key := "devices." + strconv.Itoa(i)
		d.heads[key] = strings.Join(pending, "\n")
		pending = nil
		d.Config.Devices = append(d.Config.Devices, Device{ID: fmt.Sprintf("%s-%d", p.Name, f.Slave),
			Name: fmt.Sprintf("TODO %s %d号", orDash(p.CategoryZh), f.Slave), Bus: o.BusName, Slave: f.Slave, Profile: p.Name})
		d.note(key+".id", fmt.Sprintf("matched by scan (%s), answered in %.1f ms", confidence(f, p.Name), f.LatencyMS))
		d.note(key+".name", "TODO: the name shown on tickets, e.g. 一楼厨房烟感")
		d.note(key+".profile", p.Vendor+" "+p.Model)
		d.note(key+".location", "TODO: where it hangs")
	}
	d.foot = strings.Join(pending, "\n")
	if len(d.Config.Devices) > 0 {
		return nil
	}
	if len(found) == 0 {
		return fmt.Errorf("the scan of bus %s found no device: nothing to configure (wiring, baud, parity? see docs/operations.md)", o.Scan.Bus)
	}
	var slaves []string
	for _, f := range found {
		slaves = append(slaves, strconv.Itoa(f.Slave))
	}
	return fmt.Errorf("no answering slave (%s) matched a profile: add a profile for the model to profiles_dir, or write the config from configs/example.yaml", strings.Join(slaves, ", "))
}

func confidence(f api.ScanFound, name string) string {
	conf := f.Confidence
	if conf == "" {
		conf = "unknown"
	}
	if others := slices.DeleteFunc(slices.Clone(f.Candidates), func(c string) bool { return c == name }); len(others) > 0 {
		conf += "; also matched " + strings.Join(others, ", ")
	}
	return conf
}

// unmatchedDevice is the commented-out entry of a slave that matched no
// shipped profile.
func unmatchedDevice(f api.ScanFound, o TemplateOptions) string {
	why := "matched no shipped profile"
	if f.Profile != "" {
		why = fmt.Sprintf("matched profile %q, which this fenghuo does not ship", f.Profile)
	}
	answer := ""
	if f.Answer != "" {
		answer = ", " + f.Answer
	}
	return fmt.Sprintf("# TODO: slave %d answered (%.1f ms%s) but %s: set its profile\n", f.Slave, f.LatencyMS, answer, why) +
		fmt.Sprintf("# (one of %s, or a file in profiles_dir), then uncomment it.\n", strings.Join(o.Profiles.Names(), ", ")) +
		fmt.Sprintf("# - id: device-%d\n#   name: \"TODO 设备名称\"\n#   bus: %s\n#   slave: %d\n#   profile: TODO\n#   location: \"\"",
			f.Slave, strconv.Quote(o.BusName), f.Slave)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// templateKeys are the keys a Draft writes ("buses.port": every bus's);
// the rest take their defaults on load.
var templateKeys = map[string]bool{
	"gateway": true, "gateway.id": true, "gateway.site": true, "gateway.site.name": true, "gateway.site.township": true,
	"gateway.site.township_code": true, "gateway.site.community": true, "gateway.site.grid": true, "gateway.site.address": true,
	"buses": true, "buses.name": true, "buses.type": true, "buses.port": true, "buses.baud": true, "buses.parity": true,
	"buses.address": true, "buses.timeout": true, "buses.retries": true,
	"devices": true, "devices.id": true, "devices.name": true, "devices.bus": true, "devices.slave": true,
	"devices.profile": true, "devices.location": true,
	"uplink": true, "uplink.mqtt": true, "uplink.mqtt.broker": true, "uplink.mqtt.username": true,
	"uplink.mqtt.password_file": true, "uplink.mqtt.ca_file": true,
	"buffer": true, "buffer.path": true, "buffer.max_size": true,
	"local": true, "local.socket": true, "local.metrics": true, "log": true, "log.level": true, "log.format": true,
}

// serialOnly are the bus keys of rtu; the other types write address.
var serialOnly = map[string]bool{"buses.port": true, "buses.baud": true, "buses.parity": true}

// MarshalYAML is the config as a YAML node with the Draft's comments.
func (d *Draft) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode(&d.Config); err != nil {
		return nil, err
	}
	d.annotate(&n, "", "")
	n.HeadComment = d.head
	return &n, nil
}

// annotate keeps the template's keys of n and sets its comments; path
// names the node with sequence indexes ("devices.0.id"), key without
// ("devices.id").
func (d *Draft) annotate(n *yaml.Node, path, key string) {
	join := func(a, b string) string { return strings.TrimPrefix(a+"."+b, ".") }
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := join(path, strconv.Itoa(i))
			item.HeadComment = d.heads[p]
			d.annotate(item, p, key)
		}
		if key == "devices" && d.foot != "" && len(n.Content) > 0 {
			last := n.Content[len(n.Content)-1]
			last.Content[len(last.Content)-1].FootComment = d.foot
		}
	case yaml.MappingNode:
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p, kk := join(path, k.Value), join(key, k.Value)
			if !d.writes(kk, path) {
				continue
			}
			v.LineComment = d.notes[p]
			d.annotate(v, p, kk)
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}

// writes says whether the draft writes key (of the node at path).
func (d *Draft) writes(key, path string) bool {
	rtu := d.busType(path) == "rtu"
	switch {
	case !templateKeys[key]:
		return false
	case serialOnly[key]:
		return rtu
	case key == "buses.address":
		return !rtu
	}
	return true
}

// busType is the type of the bus at path ("buses.0"), "" elsewhere.
func (d *Draft) busType(path string) string {
	i, err := strconv.Atoi(strings.TrimPrefix(path, "buses."))
	if err != nil || !strings.HasPrefix(path, "buses.") || i >= len(d.Config.Buses) {
		return ""
	}
	return d.Config.Buses[i].Type
}

// YAML is the draft as YAML text, two-space indented.
func (d *Draft) YAML() ([]byte, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	err := errors.Join(enc.Encode(d), enc.Close())
	if err != nil {
		return nil, fmt.Errorf("config template: %w", err)
	}
	return []byte(b.String()), nil
}
