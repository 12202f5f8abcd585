package profile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem of a profile file, at a key path such as
// "points[3].type".
type FieldError struct {
	File string
	Path string
	Msg  string
}

// Error returns "file: path: msg".
func (e *FieldError) Error() string { return e.File + ": " + e.Path + ": " + e.Msg }

var (
	profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	pointName   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// problems collects FieldErrors of one file.
type problems struct {
	file string
	errs []error
}

func (ps *problems) add(path, format string, args ...any) {
	ps.errs = append(ps.errs, &FieldError{File: ps.file, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks the profile (after defaults are applied) and returns
// every problem at once, as an errors.Join of *FieldError.
// maxTurnaround bounds a profile's turnaround: a slave slower than this
// to start its reply is beyond any bus timeout the gateway allows.
const maxTurnaround = time.Second

func (p *Profile) Validate() error {
	ps := &problems{file: p.File}
	if !profileName.MatchString(p.Name) {
		ps.add("name", "%q must be 1..64 of [a-z0-9-]", p.Name)
	}
	if p.Category != "smoke" && p.Category != "electrical" {
		ps.add("category", "%q is not one of smoke, electrical", p.Category)
	}
	if p.Poll < 0 {
		ps.add("poll", "%v must not be negative", p.Poll)
	}
	if p.MaxRead < 0 || p.MaxRead > maxRegisters {
		ps.add("max_read", "%d is out of range 0..%d", p.MaxRead, maxRegisters)
	}
	if p.MaxGap < -1 || p.MaxGap > maxRegisters {
		ps.add("max_gap", "%d is out of range -1..%d (-1: never read through unused registers)", p.MaxGap, maxRegisters)
	}
	if p.Turnaround < 0 || p.Turnaround > maxTurnaround {
		ps.add("turnaround", "%v is out of range 0..%v", p.Turnaround, maxTurnaround)
	}
	if len(p.Points) == 0 {
		ps.add("points", "a profile needs at least one point")
	}
	names := map[string]int{}
	for i := range p.Points {
		pt := &p.Points[i]
		at := fmt.Sprintf("points[%d]", i)
		if j, dup := names[pt.Name]; dup {
			ps.add(at+".name", "%q is also the name of points[%d]", pt.Name, j)
		}
		names[pt.Name] = i
		validatePoint(ps, at, pt)
	}
	checkOverlaps(ps, p.Points)
	checkIntervals(ps, p)
	checkParams(ps, p)
	checkCommands(ps, p)
	checkRules(ps, p)
	return errors.Join(ps.errs...)
}

// validatePoint checks one point's keys.
func validatePoint(ps *problems, at string, pt *Point) {
	if !pointName.MatchString(pt.Name) {
		ps.add(at+".name", "%q must match [a-z][a-z0-9_]*", pt.Name)
	}
	if pt.FC < 1 || pt.FC > 4 {
		ps.add(at+".fc", "%d is not one of 1, 2, 3, 4", pt.FC)
	}
	if pt.Address < 0 || pt.Address+pt.width() > 65536 {
		ps.add(at+".address", "%d is out of range 0..65535 for a %s", pt.Address, pt.Type)
	}
	_, known := types[pt.Type]
	isBit := pt.Type == "bit"
	switch {
	case !known && !isBit:
		ps.add(at+".type", "%q is not one of %s", pt.Type, typeNames)
	case isBit != (pt.FC == 1 || pt.FC == 2) && pt.FC >= 1 && pt.FC <= 4:
		ps.add(at+".type", "%q does not fit fc %d (bit is for fc 1 and 2 only)", pt.Type, pt.FC)
	}
	if _, ok := orders[pt.Order]; !ok {
		ps.add(at+".order", "%q is not one of ABCD, CDAB, BADC, DCBA", pt.Order)
	}
	switch pt.Access {
	case "r":
	case "rw", "w":
		if pt.FC == 2 || pt.FC == 4 {
			ps.add(at+".access", "%q: fc %d is read-only", pt.Access, pt.FC)
		}
	default:
		ps.add(at+".access", "%q is not one of r, rw, w", pt.Access)
	}
	if _, err := ParseDeadband(pt.Deadband); err != nil {
		ps.add(at+".deadband", "%v", err)
	} else if pt.Deadband != "" && !pt.Telemetry() {
		ps.add(at+".deadband", "only a read analog point with a unit is reported as telemetry")
	}
	for bit := range pt.Bits {
		if pt.Type != "u16" {
			ps.add(at+".bits", "bit names need type u16, not %q", pt.Type)
			break
		}
		if bit < 0 || bit > 15 {
			ps.add(fmt.Sprintf("%s.bits.%d", at, bit), "bit %d is out of range 0..15", bit)
		}
	}
	if pt.Default != nil && (known || isBit) {
		if _, err := EncodeValue(pt, *pt.Default); err != nil {
			ps.add(at+".default", "%v", err)
		}
	}
}

// checkIntervals reports negative poll intervals and point intervals that
// are not a multiple of the profile's fastest: the scheduler reads a group
// every k turns of the fastest group (gateway/sched), so a slower point is
// always read together with the faster ones and a rule that combines them
// sees both in one poll.
func checkIntervals(ps *problems, p *Profile) {
	for i := range p.Points {
		if p.Points[i].Poll < 0 {
			ps.add(fmt.Sprintf("points[%d].poll", i), "%v must not be negative", p.Points[i].Poll)
		}
	}
	ivs := p.intervals(0)
	if len(ivs) < 2 || ivs[0] <= 0 {
		return
	}
	profileDone := false
	for i := range p.Points {
		pt := &p.Points[i]
		if iv := p.PollOf(pt); pt.Readable() && iv%ivs[0] != 0 {
			at := fmt.Sprintf("points[%d].poll", i)
			if pt.Poll <= 0 {
				if profileDone {
					continue
				}
				at, profileDone = "poll", true
			}
			ps.add(at, "%v is not a multiple of %v, the profile's fastest interval (slower points are read on the fastest points' turns)", iv, ivs[0])
		}
	}
}

// width returns the number of registers (or bits) the point occupies.
func (pt *Point) width() int {
	if vt, ok := types[pt.Type]; ok {
		return vt.words
	}
	return 1
}

// checkOverlaps reports points of one table that share a register.
func checkOverlaps(ps *problems, pts []Point) {
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := &pts[idx[a]], &pts[idx[b]]
		if pa.FC != pb.FC {
			return pa.FC < pb.FC
		}
		return pa.Address < pb.Address
	})
	for k := 1; k < len(idx); k++ {
		prev, cur := &pts[idx[k-1]], &pts[idx[k]]
		if prev.FC == cur.FC && cur.Address < prev.Address+prev.width() {
			ps.add(fmt.Sprintf("points[%d].address", idx[k]),
				"fc %d @%d overlaps points[%d] %q (@%d+%d)",
				cur.FC, cur.Address, idx[k-1], prev.Name, prev.Address, prev.width())
		}
	}
}

// checkRules does the checks a profile can do on its raw rules without
// knowing the rule engine: each item is a mapping with a unique id, and
// every point it names exists in the profile.
func checkRules(ps *problems, p *Profile) {
	ids := map[string]int{}
	for i := range p.Rules {
		n := &p.Rules[i]
		at := fmt.Sprintf("rules[%d]", i)
		if n.Kind != yaml.MappingNode {
			ps.add(at, "a rule must be a mapping")
			continue
		}
		id := scalar(n, "id")
		if id == "" {
			ps.add(at+".id", "missing")
		} else if j, dup := ids[id]; dup {
			ps.add(at+".id", "%q is also the id of rules[%d]", id, j)
		}
		ids[id] = i
		for _, ref := range pointRefs(n) {
			if p.Point(ref.name) == nil {
				ps.add(at+"."+ref.path, "no point %q in profile %q", ref.name, p.Name)
			}
		}
		for _, ref := range paramRefs(n) {
			if p.Param(ref.name) == nil {
				ps.add(at+"."+ref.path, "no parameter %q in profile %q (declare it under params:)", ref.name, p.Name)
			}
		}
	}
}

type pointRef struct{ path, name string }

// pointRefs lists the point names a rule mapping refers to: points[],
// threshold_point, when[].point and when[].all[].point.
func pointRefs(n *yaml.Node) []pointRef {
	var refs []pointRef
	if v := value(n, "points"); v != nil {
		for i, c := range v.Content {
			refs = append(refs, pointRef{fmt.Sprintf("points[%d]", i), c.Value})
		}
	}
	if s := scalar(n, "threshold_point"); s != "" {
		refs = append(refs, pointRef{"threshold_point", s})
	}
	if v := value(n, "when"); v != nil {
		for i, c := range v.Content {
			if s := scalar(c, "point"); s != "" {
				refs = append(refs, pointRef{fmt.Sprintf("when[%d].point", i), s})
			}
			if all := value(c, "all"); all != nil { // when[i].all[j].point
				for j, a := range all.Content {
					if s := scalar(a, "point"); s != "" {
						refs = append(refs, pointRef{fmt.Sprintf("when[%d].all[%d].point", i, j), s})
					}
				}
			}
		}
	}
	return refs
}

// paramRefs lists the parameter names a rule mapping refers to:
// threshold_param and when[].not_equals_param.
func paramRefs(n *yaml.Node) []pointRef {
	var refs []pointRef
	if s := scalar(n, "threshold_param"); s != "" {
		refs = append(refs, pointRef{"threshold_param", s})
	}
	if v := value(n, "when"); v != nil {
		for i, c := range v.Content {
			if s := scalar(c, "not_equals_param"); s != "" {
				refs = append(refs, pointRef{fmt.Sprintf("when[%d].not_equals_param", i), s})
			}
		}
	}
	return refs
}

// value returns the value node of key in mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar returns the scalar value of key in mapping n, or "".
func scalar(n *yaml.Node, key string) string {
	if v := value(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
