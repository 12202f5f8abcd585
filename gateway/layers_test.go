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
// with a dot is a third-party module). Pending are edges that exist today
// and are on their way out (issue 14): allowed until their move lands, then
// deleted here; a pending edge no longer in the tree is logged.
type edgeRule struct {
	From    string
	Allowed []string
	Pending []string
	Why     string
}

// edgeRules (issue 14, Build 4). The rule for gateway/cli: the CLI parses
// flags, calls one function of a lower package and renders. So it may import
//   - any gateway package (config, daemon, api, demo, bus diagnostics);
//   - what it renders with: uplink/sanitize (escaping network and device
//     text), rules (level labels in Chinese and English), uplink/ticket (the
//     ticket contract's time layout and topics);
//   - drivers/profile, the catalogue a configuration names (`config check`
//     prints the compiled plans, `config init` matches a scan to profiles);
//   - the one entry function of each service it starts or probes:
//     uplink/mqttlink (the uplink probe), uplink/station and its service
//     (uplink/station/serve), uplink/downlink
//     (the station's command key), uplink/gb26875 and its centre;
//   - uplink/atomicfile, the one atomic file writer (exports, config init);
//   - cobra, for the commands.
//
// It must not drive a bus itself (drivers/transport, drivers/device), run a
// simulator's wiring of its own (drivers/sim), or speak MQTT in raw packets:
// Build items 1 and 2 removed those edges (gateway/busdiag, demo.ServeBus,
// mqttlink.Probe), and this rule keeps them out.
//
// uplink/outbox/sqlite implements the outbox contract and nothing else: it
// imports uplink/outbox (and uplink/atomicfile for its state file), and
// uplink/ticket because eviction replaces an
// evicted ticket by its tombstone (DESIGN.md §6; maintain.go builds it with
// ticket.Tombstone). If the eviction policy moves into outbox as a pure
// function, the ticket edge can go.
var edgeRules = []edgeRule{
	{
		From: "gateway/cli",
		Allowed: []string{"gateway/...", "uplink/sanitize", "rules", "uplink/ticket", "drivers/profile",
			"uplink/mqttlink", "uplink/station/...", "uplink/downlink", "uplink/gb26875/...",
			"uplink/atomicfile", "github.com/spf13/cobra"},
		Why: "the CLI parses flags, calls one function of a lower package and renders",
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
// returns one line per forbidden edge and the pending edges it saw.
func violations(pkgs []pkg) (bad []string, pendingSeen map[string]bool) {
	pendingSeen = map[string]bool{}
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
				if i := slices.IndexFunc(r.Pending, func(a string) bool { return matches(a, imp) }); i >= 0 {
					pendingSeen[r.From+" → "+r.Pending[i]] = true
					continue
				}
				bad = append(bad, fmt.Sprintf("%s imports %s: %s may import only %s (%s)",
					p.ImportPath, imp, r.From, strings.Join(r.Allowed, ", "), r.Why))
			}
		}
	}
	return bad, pendingSeen
}

func TestDependencyDirection(t *testing.T) {
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
	bad, pendingSeen := violations(pkgs)
	for _, b := range bad {
		t.Error(b)
	}
	for _, r := range edgeRules {
		for _, p := range r.Pending {
			if !pendingSeen[r.From+" → "+p] {
				t.Logf("pending edge %s → %s is gone from the tree: delete it from edgeRules", r.From, p)
			}
		}
	}
}

// TestDependencyCheckerCatchesNewEdges runs the checker on a synthetic
// import graph: the edges the tree has today pass, and each new forbidden
// edge is reported by name.
func TestDependencyCheckerCatchesNewEdges(t *testing.T) {
	m := func(s string) string { return module + s }
	ok := []pkg{
		{m("rules"), []string{"strings", "time"}},
		{m("gateway/cli"), []string{"fmt", m("gateway/config"), m("gateway/daemon"), m("uplink/sanitize"),
			m("uplink/gb26875/centre"), m("uplink/atomicfile"), "github.com/spf13/cobra"}},
		{m("uplink/outbox/sqlite"), []string{"database/sql", m("uplink/outbox"), m("uplink/ticket"), "github.com/mattn/go-sqlite3"}},
		{m("uplink/mqttlink"), []string{m("uplink/outbox"), "github.com/eclipse/paho.mqtt.golang"}},
	}
	if bad, _ := violations(ok); len(bad) != 0 {
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, _ := violations(append(slices.Clone(ok), c.p))
			if len(bad) != 1 || !strings.Contains(bad[0], c.want) {
				t.Fatalf("violations %q, want one containing %q", bad, c.want)
			}
		})
	}
}
