package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/fenghuo-iot/fenghuo/"

// forbidden lists, per layer, the layers it must never import
// (DESIGN.md §1: rules pure; drivers and uplink independent; gateway wires).
var forbidden = map[string][]string{
	"rules":   {"drivers", "uplink", "gateway"},
	"drivers": {"rules", "uplink", "gateway"},
	"uplink":  {"drivers", "gateway"},
	"configs": {"rules", "drivers", "uplink", "gateway"},
}

// edgeRule is a finer edge than a layer: the package From (module-relative)
// may import, besides the standard library, only the packages Allowed names
// (module-relative; a trailing "/..." also admits the subpackages; a path
// with a dot is a third-party module).
type edgeRule struct {
	From    string
	Allowed []string
	Why     string
}

// edgeRules (issue 14, Build 4). The rule for gateway/cli: the CLI parses
// flags, calls one function of a lower package and renders. So it may import
//   - any gateway package (config, daemon, api, demo, bus diagnostics,
//     testalarm, and diagview, which renders every table, CSV and JSON);
//   - uplink/sanitize, for the one line it prints itself: an error (it
//     quotes the daemon, the broker, a device);
//   - drivers/profile, the catalogue a configuration names (`config check
//     --print` prints the compiled plans, `diag control` names the actions);
//   - the one entry function of each service it starts or probes:
//     uplink/mqttlink (the uplink probe), uplink/station and its service
//     (uplink/station/serve), uplink/downlink
//     (the station's command key), uplink/gb26875 and its centre;
//   - uplink/atomicfile, the one atomic file writer (exports, config init);
//   - cobra, for the commands.
//
// It must not drive a bus itself (drivers/transport, drivers/device), run a
// simulator's wiring of its own (drivers/sim), or speak MQTT in raw packets:
// Build items 1 and 2 removed those edges (gateway/busdiag, demo.ServeSite,
// mqttlink.Probe), and this rule keeps them out.
//
// uplink/outbox/sqlite implements the outbox contract and nothing else: it
// imports uplink/outbox (and uplink/atomicfile for its state file), and
// uplink/ticket because eviction replaces an
// evicted ticket by its tombstone (DESIGN.md §6; maintain.go builds it with
// ticket.Tombstone). If the eviction policy moves into outbox as a pure
// function, the ticket edge can go.
//
// The daemon's parts (issue 14, Build 2): gateway/engine is the rule loop,
// readings in and ticket records out through the outbox guard; it knows
// neither a bus, nor MQTT, nor SQLite, nor the API, so the loop runs in a
// test over the memory outbox. gateway/localapi answers the local API and
// /metrics from snapshots of the loop, the outbox and the uplink, behind
// interfaces (no SQLite, no MQTT client, no bus but through busdiag's
// runner). gateway/uplinks is the seam to the ways out: the config and the
// uplink packages, never the buses or the rule loop.
//
// The packages the CLI calls stay below it and do one job each:
//   - gateway/diagview renders the answers of the local API (and the
//     uplink probe's steps): it knows the API's types and the escaping,
//     never a socket, a bus, a config or the daemon;
//   - gateway/testalarm follows a test ticket through the local API only;
//   - gateway/busdiag does bus work on a transport and knows the config,
//     the API's types and the scheduler's job type, never the daemon that
//     runs it (nor the CLI, nor MQTT).
var edgeRules = []edgeRule{
	{
		From: "gateway/engine",
		Allowed: []string{"rules", "drivers/profile", "gateway/config", "gateway/sched", "uplink/outbox",
			"uplink/ticket", "uplink/atomicfile"},
		Why: "the rule loop: readings in, ticket records into the outbox; no bus, MQTT, SQLite or API",
	},
	{
		From: "gateway/localapi",
		Allowed: []string{"gateway/api", "gateway/busdiag", "gateway/config", "gateway/engine", "gateway/sched",
			"rules", "uplink/outbox", "uplink/sanitize", "uplink/ticket", "github.com/prometheus/client_golang/..."},
		Why: "the local API and metrics read snapshots through interfaces",
	},
	{
		From:    "gateway/uplinks",
		Allowed: []string{"gateway/config", "uplink/..."},
		Why:     "an uplink is built from the config and the uplink packages only",
	},
	{
		From: "gateway/cli",
		Allowed: []string{"gateway/...", "uplink/sanitize", "drivers/profile",
			"uplink/mqttlink", "uplink/station/...", "uplink/downlink", "uplink/gb26875/...",
			"uplink/atomicfile", "github.com/spf13/cobra"},
		Why: "the CLI parses flags, calls one function of a lower package and renders",
	},
	{
		From:    "gateway/diagview",
		Allowed: []string{"gateway/api", "gateway/testalarm", "rules", "uplink/sanitize", "uplink/ticket", "uplink/mqttlink"},
		Why:     "diagview renders the local API's answers and nothing else",
	},
	{
		From:    "gateway/testalarm",
		Allowed: []string{"gateway/api"},
		Why:     "a test alarm goes through the daemon's local API",
	},
	{
		From: "gateway/busdiag",
		Allowed: []string{"gateway/api", "gateway/config", "gateway/sched", "drivers/transport", "drivers/modbus",
			"drivers/profile", "drivers/device", "uplink/ticket"},
		Why: "bus diagnostics run on a transport; the daemon and the CLI call them, not the reverse",
	},
	{
		From:    "uplink/outbox/sqlite",
		Allowed: []string{"uplink/outbox", "uplink/ticket", "uplink/atomicfile", "github.com/mattn/go-sqlite3"},
		Why:     "a backend implements the outbox contract only",
	},
}

// layer is the top folder of a package of this module, or "".
func layer(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

// pkg is one node of the import graph, as `go list -json` prints it.
type pkg struct {
	ImportPath string
	Imports    []string
}

// thirdParty reports whether imp is outside the standard library and the module.
func thirdParty(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(imp, module)
}

// matches reports whether imp (a full import path) is named by pattern.
func matches(pattern, imp string) bool {
	full := pattern
	if !thirdParty(pattern + "/") {
		full = module + pattern
	}
	if base, ok := strings.CutSuffix(full, "/..."); ok {
		return imp == base || strings.HasPrefix(imp, base+"/")
	}
	return imp == full
}

// violations checks an import graph against forbidden and edgeRules. It
// returns one line per forbidden edge.
func violations(pkgs []pkg) (bad []string) {
	for _, p := range pkgs {
		from := layer(p.ImportPath)
		for _, imp := range p.Imports {
			to := layer(imp)
			for _, f := range forbidden[from] {
				if to == f {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s/ must not depend on %s/", p.ImportPath, imp, from, to))
				}
			}
			if from == "rules" && thirdParty(imp) {
				bad = append(bad, fmt.Sprintf("%s imports %s: rules/ uses the standard library only", p.ImportPath, imp))
			}
		}
		for _, r := range edgeRules {
			if p.ImportPath != module+r.From {
				continue
			}
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module) && !thirdParty(imp) {
					continue // the standard library
				}
				if slices.ContainsFunc(r.Allowed, func(a string) bool { return matches(a, imp) }) {
					continue
				}
				bad = append(bad, fmt.Sprintf("%s imports %s: %s may import only %s (%s)",
					p.ImportPath, imp, r.From, strings.Join(r.Allowed, ", "), r.Why))
			}
		}
	}
	return bad
}

func TestLayerDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("only %d packages listed; the check would prove nothing", len(pkgs))
	}
	for _, r := range edgeRules {
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == module+r.From }) {
			t.Errorf("edge rule for %s: no such package (renamed? move the rule with it)", r.From)
		}
	}
	for _, b := range violations(pkgs) {
		t.Error(b)
	}
}

// TestLayerCheckerCatchesNewEdges runs the checker on a synthetic
// import graph: the edges the tree has today pass, and each new forbidden
// edge is reported by name.
func TestLayerCheckerCatchesNewEdges(t *testing.T) {
	m := func(s string) string { return module + s }
	ok := []pkg{
		{m("rules"), []string{"strings", "time"}},
		{m("gateway/cli"), []string{"fmt", m("gateway/config"), m("gateway/daemon"), m("uplink/sanitize"),
			m("uplink/gb26875/centre"), m("uplink/atomicfile"), "github.com/spf13/cobra"}},
		{m("uplink/outbox/sqlite"), []string{"database/sql", m("uplink/outbox"), m("uplink/ticket"), "github.com/mattn/go-sqlite3"}},
		{m("uplink/mqttlink"), []string{m("uplink/outbox"), "github.com/eclipse/paho.mqtt.golang"}},
		{m("gateway/engine"), []string{m("rules"), m("gateway/config"), m("uplink/outbox"), m("uplink/ticket")}},
		{m("gateway/localapi"), []string{m("gateway/api"), m("gateway/engine"), "github.com/prometheus/client_golang/prometheus"}},
		{m("gateway/uplinks"), []string{m("gateway/config"), m("uplink/mqttlink")}},
		{m("gateway/diagview"), []string{"io", m("gateway/api"), m("uplink/sanitize")}},
		{m("gateway/busdiag"), []string{m("drivers/transport"), m("gateway/config"), m("gateway/sched")}},
	}
	if bad := violations(ok); len(bad) != 0 {
		t.Fatalf("allowed graph: violations %q", bad)
	}

	cases := []struct {
		name string
		p    pkg
		want string
	}{
		{"rules imports uplink", pkg{m("rules"), []string{m("uplink/ticket")}}, "rules/ must not depend on uplink/"},
		{"rules imports a module", pkg{m("rules"), []string{"gopkg.in/yaml.v3"}}, "rules/ uses the standard library only"},
		{"uplink imports gateway", pkg{m("uplink/mqttlink"), []string{m("gateway/config")}}, "uplink/ must not depend on gateway/"},
		{"cli opens the outbox", pkg{m("gateway/cli"), []string{m("uplink/outbox/sqlite")}}, "gateway/cli imports " + m("uplink/outbox/sqlite")},
		{"cli speaks modbus", pkg{m("gateway/cli"), []string{m("drivers/modbus")}}, "gateway/cli may import only"},
		{"cli takes a new module", pkg{m("gateway/cli"), []string{"github.com/spf13/viper"}}, "imports github.com/spf13/viper"},
		{"sqlite imports the link", pkg{m("uplink/outbox/sqlite"), []string{m("uplink/mqttlink")}}, "uplink/outbox/sqlite may import only"},
		{"sqlite imports rules", pkg{m("uplink/outbox/sqlite"), []string{m("rules")}}, "uplink/outbox/sqlite may import only"},
		{"cli drives a bus", pkg{m("gateway/cli"), []string{m("drivers/transport")}}, "gateway/cli may import only"},
		{"engine speaks MQTT", pkg{m("gateway/engine"), []string{m("uplink/mqttlink")}}, "gateway/engine may import only"},
		{"engine opens SQLite", pkg{m("gateway/engine"), []string{m("uplink/outbox/sqlite")}}, "gateway/engine may import only"},
		{"engine serves the API", pkg{m("gateway/engine"), []string{m("gateway/api")}}, "gateway/engine may import only"},
		{"localapi opens SQLite", pkg{m("gateway/localapi"), []string{m("uplink/outbox/sqlite")}}, "gateway/localapi may import only"},
		{"localapi reaches the daemon", pkg{m("gateway/localapi"), []string{m("gateway/daemon")}}, "gateway/localapi may import only"},
		{"uplinks drive the rule loop", pkg{m("gateway/uplinks"), []string{m("gateway/engine")}}, "gateway/uplinks may import only"},
		{"cli renders levels itself", pkg{m("gateway/cli"), []string{m("rules")}}, "gateway/cli may import only"},
		{"diagview reads the config", pkg{m("gateway/diagview"), []string{m("gateway/config")}}, "gateway/diagview may import only"},
		{"diagview opens a bus", pkg{m("gateway/diagview"), []string{m("drivers/transport")}}, "gateway/diagview may import only"},
		{"testalarm asks the daemon directly", pkg{m("gateway/testalarm"), []string{m("gateway/daemon")}}, "gateway/testalarm may import only"},
		{"busdiag calls the daemon", pkg{m("gateway/busdiag"), []string{m("gateway/daemon")}}, "gateway/busdiag may import only"},
		{"busdiag speaks MQTT", pkg{m("gateway/busdiag"), []string{m("uplink/mqttlink")}}, "gateway/busdiag may import only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := violations(append(slices.Clone(ok), c.p))
			if len(bad) != 1 || !strings.Contains(bad[0], c.want) {
				t.Fatalf("violations %q, want one containing %q", bad, c.want)
			}
		})
	}
}
