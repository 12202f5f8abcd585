package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// envString is a value taken from a FENGHUO_ environment variable: numbers,
// booleans and durations are parsed from it.
type envString string

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	sizeType     = reflect.TypeFor[ByteSize]()
	anyMapType   = reflect.TypeFor[map[string]any]()
)

// decoder decodes the raw values of the file (maps, lists and scalars, as
// viper or yaml read them) into typed structs by their yaml tags. Unlike a
// plain decode it does not stop at the first problem: every unknown key
// and every value of the wrong type is recorded at its key path, and the
// field keeps its default.
type decoder struct{ p *problems }

// decode decodes raw into v; path names v in messages. A nil raw (a key
// with no value) keeps v's default.
func (d decoder) decode(path string, raw any, v reflect.Value) {
	if raw == nil {
		return
	}
	d.p.present[path] = true
	switch v.Type() {
	case durationType:
		d.duration(path, raw, v)
		return
	case secretType:
		if s, ok := d.str(path, raw); ok {
			v.Set(reflect.ValueOf(NewSecret(s)))
		}
		return
	case sizeType:
		d.size(path, raw, v)
		return
	case gapType:
		d.gap(path, raw, v)
		return
	case anyMapType:
		if m, ok := asMap(raw); ok {
			d.p.checkMapValues(path, m)
			v.Set(reflect.ValueOf(m))
		} else {
			d.p.decodeErr(path, "must be a mapping (key: value), not %s", describe(raw))
		}
		return
	}
	d.kind(path, raw, v)
}

// kind decodes by reflect.Kind.
func (d decoder) kind(path string, raw any, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		d.structure(path, raw, v)
	case reflect.Slice:
		d.list(path, raw, v)
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		if df, ok := e.Interface().(defaulter); ok {
			df.setDefaults() // an optional section starts from its defaults
		}
		d.decode(path, raw, e.Elem())
		if !d.p.decoded[path] {
			v.Set(e)
		}
	case reflect.String:
		if s, ok := d.str(path, raw); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := d.integer(path, raw); ok {
			v.SetInt(n)
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := d.float(path, raw); ok {
			v.SetFloat(f)
		}
	case reflect.Bool:
		d.boolean(path, raw, v)
	default:
		panic(fmt.Sprintf("config: cannot decode into %s at %s", v.Type(), path))
	}
}

// structure decodes a mapping into a struct, reporting unknown keys with
// a did-you-mean hint.
func (d decoder) structure(path string, raw any, v reflect.Value) {
	m, ok := asMap(raw)
	if !ok {
		d.p.decodeErr(path, "must be a mapping (key: value), not %s", describe(raw))
		return
	}
	fields := yamlFields(v.Type())
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		names = append(names, f.name)
		if val, ok := m[f.name]; ok {
			d.decode(join(path, f.name), val, v.Field(f.index))
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(names, k) {
			continue
		}
		d.p.decodeErr(join(path, k), "unknown key%s", hint(k, names))
		if s := rules.Suggest(k, names); s != "" && m[s] == nil {
			d.p.decoded[join(path, s)] = true // no "slave: is required" next to "slvae: did you mean slave"
		}
	}
}

// list decodes a sequence; elements of a type with defaults start from them.
func (d decoder) list(path string, raw any, v reflect.Value) {
	items, ok := raw.([]any)
	if !ok {
		d.p.decodeErr(path, "must be a list, not %s", describe(raw))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		e := s.Index(i)
		if df, ok := e.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(fmt.Sprintf("%s[%d]", path, i), item, e)
	}
	v.Set(s)
}

func (d decoder) str(path string, raw any) (string, bool) {
	switch x := raw.(type) {
	case string:
		return x, d.p.checkSize(path, x)
	case envString:
		return string(x), d.p.checkSize(path, string(x))
	case int, int64, uint64:
		return fmt.Sprint(x), true // township_code: 330502103 unquoted
	}
	d.p.decodeErr(path, "must be a string, not %s", describe(raw))
	return "", false
}

func (d decoder) integer(path string, raw any) (int64, bool) {
	switch x := raw.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case envString:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, true
		}
	}
	d.p.decodeErr(path, "%s is not an integer%s", show(raw), d.from(path, raw))
	return 0, false
}

func (d decoder) float(path string, raw any) (float64, bool) {
	f, ok := d.anyFloat(path, raw)
	if ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		d.p.decodeErr(path, "%v is not a finite number", f)
		return 0, false
	}
	return f, ok
}

func (d decoder) anyFloat(path string, raw any) (float64, bool) {
	switch x := raw.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case envString:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f, true
		}
	}
	d.p.decodeErr(path, "%s is not a number%s", show(raw), d.from(path, raw))
	return 0, false
}

func (d decoder) boolean(path string, raw any, v reflect.Value) {
	switch x := raw.(type) {
	case bool:
		v.SetBool(x)
		return
	case envString:
		if b, err := strconv.ParseBool(string(x)); err == nil {
			v.SetBool(b)
			return
		}
	}
	d.p.decodeErr(path, "%s is not true or false%s", show(raw), d.from(path, raw))
}

// durationText is the text of a duration value, trimmed: a string from
// the file or the environment; zero is true for a literal 0.
func durationText(raw any) (s string, zero bool) {
	switch x := raw.(type) {
	case string:
		return strings.TrimSpace(x), false
	case envString:
		return strings.TrimSpace(string(x)), false
	case int:
		return "", x == 0
	}
	return "", false
}

func (d decoder) duration(path string, raw any, v reflect.Value) {
	s, zero := durationText(raw)
	if zero {
		v.SetInt(0)
		return
	}
	if s != "" {
		if dur, err := time.ParseDuration(s); err == nil {
			v.SetInt(int64(dur))
			return
		}
	}
	d.p.decodeErr(path, "%s is not a duration (e.g. 300ms, 30s, 5m)%s", show(raw), d.from(path, raw))
}

func (d decoder) size(path string, raw any, v reflect.Value) {
	switch x := raw.(type) {
	case int:
		if x >= 0 {
			v.SetInt(int64(x))
			return
		}
	case string, envString:
		if n, err := ParseByteSize(fmt.Sprint(x)); err == nil {
			v.SetInt(int64(n))
			return
		}
	}
	d.p.decodeErr(path, "%s is not a size (e.g. 256MiB, 1GB, or bytes)%s", show(raw), d.from(path, raw))
}

// from names the environment variable a bad value came from.
func (d decoder) from(path string, raw any) string {
	if _, ok := raw.(envString); ok {
		return " (from " + envName(path) + ")"
	}
	return ""
}

// field is one decodable struct field.
type field struct {
	name  string
	index int
}

// yamlFields lists the exported fields of t by their yaml names.
func yamlFields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fs = append(fs, field{name: name, index: i})
	}
	return fs
}

// asMap accepts the mapping types yaml and viper produce.
func asMap(raw any) (map[string]any, bool) {
	switch m := raw.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// describe names the YAML kind of a raw value.
func describe(raw any) string {
	switch raw.(type) {
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	case bool:
		return "true/false"
	case int, int64, uint64, float64:
		return "a number"
	}
	return "a string"
}

// show prints a raw scalar: strings quoted, numbers as they are.
func show(raw any) string {
	switch x := raw.(type) {
	case string:
		return strconv.Quote(x)
	case envString:
		return strconv.Quote(string(x))
	case []any, map[string]any, map[any]any:
		return describe(raw)
	}
	return fmt.Sprint(raw)
}

// join appends key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
