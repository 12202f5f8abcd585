package gateway_test

import (
	"encoding/json"
	"io"
	"os/exec"
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

// layer is the top folder of a package of this module, or "".
func layer(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		checked++
		from := layer(p.ImportPath)
		for _, imp := range p.Imports {
			to := layer(imp)
			for _, bad := range forbidden[from] {
				if to == bad {
					t.Errorf("%s imports %s: %s/ must not depend on %s/", p.ImportPath, imp, from, to)
				}
			}
			if from == "rules" && strings.Contains(imp, ".") && layer(imp) == "" {
				t.Errorf("%s imports %s: rules/ uses the standard library only", p.ImportPath, imp)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages listed; the check would prove nothing", checked)
	}
}
