package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// FieldError is one problem of a config, at a key path such as
// "devices[2].slave". Load returns an errors.Join of them.
type FieldError struct {
	Path string // "devices[2].slave"; for a profile's rules, "profile NAME: rules[0].level"
	Msg  string // "0 is out of range 1..247"
	line int    // line in the file, for sorting; 0 when unknown
}

// Error returns "path: msg".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// problems collects FieldErrors. A path that failed to decode (or sits
// under one) is not checked again, so one mistake gives one message.
type problems struct {
	errs    []*FieldError
	decoded map[string]bool // paths with a decode error
	present map[string]bool // paths set in the file or the environment
	lines   map[string]int  // path -> line in the file
}

func newProblems() *problems {
	return &problems{decoded: map[string]bool{}, present: map[string]bool{}, lines: map[string]int{}}
}

// add records a validation problem at path, unless path already failed to
// decode.
func (p *problems) add(path, format string, args ...any) {
	for q := path; q != ""; q = parent(q) {
		if p.decoded[q] {
			return
		}
	}
	p.errs = append(p.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), line: p.line(path)})
}

// decodeErr records a type problem at path.
func (p *problems) decodeErr(path, format string, args ...any) {
	p.decoded[path] = true
	p.errs = append(p.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), line: p.line(path)})
}

// addAt records errors from rules.Spec.Validate (or similar "field: msg"
// errors) under prefix.
func (p *problems) addAt(prefix string, errs []error) {
	for _, e := range errs {
		var fe *rules.FieldError
		if errors.As(e, &fe) {
			p.add(prefix+fe.Field, "%s", fe.Msg)
			continue
		}
		p.add(strings.TrimSuffix(prefix, "."), "%v", e)
	}
}

// line is the line of path, or of its nearest ancestor, in the file.
func (p *problems) line(path string) int {
	for q := path; q != ""; q = parent(q) {
		if l, ok := p.lines[q]; ok {
			return l
		}
	}
	return 0
}

// parent drops the last element of a key path: "a.b[1]" -> "a.b" -> "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// err returns the problems in file order (then by path), or nil. Problems
// without a line (profile rules, environment) come last.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b *FieldError) int {
		return cmp.Or(cmp.Compare(sortLine(a), sortLine(b)), comparePaths(a.Path, b.Path))
	})
	out := make([]error, len(p.errs))
	for i, e := range p.errs {
		out[i] = e
	}
	return errors.Join(out...)
}

func sortLine(e *FieldError) int {
	if e.line == 0 {
		return math.MaxInt
	}
	return e.line
}

// comparePaths orders key paths with numeric indexes compared as numbers,
// so devices[10] follows devices[9].
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		na, ra := pathToken(a)
		nb, rb := pathToken(b)
		ia, ea := strconv.Atoi(na)
		ib, eb := strconv.Atoi(nb)
		if ea == nil && eb == nil {
			if c := cmp.Compare(ia, ib); c != 0 {
				return c
			}
		} else if c := strings.Compare(na, nb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

// pathToken splits a path at its first separator.
func pathToken(s string) (tok, rest string) {
	i := strings.IndexAny(s, ".[]")
	if i < 0 {
		return s, ""
	}
	if i == 0 {
		return s[:1], s[1:]
	}
	return s[:i], s[i:]
}

// hint is ` (did you mean "x"?)` or "".
func hint(word string, candidates []string) string {
	if s := rules.Suggest(word, candidates); s != "" && s != word {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// Problems unwraps an errors.Join tree (as returned by Load) into its
// leaves, one per problem, in order.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

// ProblemList is every problem of err, one line each, with its key path.
func ProblemList(err error) []string {
	var out []string
	for _, p := range Problems(err) {
		out = append(out, p.Error())
	}
	return out
}
