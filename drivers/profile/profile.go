package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/configs"
	"gopkg.in/yaml.v3"
)

// Profile is one device model: its identity, its register map and its
// default rules. The YAML keys are documented in the header of
// configs/profiles/smoke-detector.yaml.
type Profile struct {
	Name       string `yaml:"name"`     // "electrical-fire-1p"; [a-z0-9-], unique in a Set
	Vendor     string `yaml:"vendor"`   // "generic", "chint", …
	Model      string `yaml:"model"`    // vendor's model name
	Kind       string `yaml:"kind"`     // "smoke-detector", "electrical-fire-detector", …
	Category   string `yaml:"category"` // ticket category of its hazards: smoke | electrical
	CategoryZh string `yaml:"category_zh"`
	// GB26875ComponentType is the component type code of GB 26875.
	GB26875ComponentType int    `yaml:"gb26875_component_type"`
	Source               string `yaml:"source"` // where the register map comes from
	// Poll is the poll interval of the points without a poll: of their own
	// (0: DefaultPoll, 1 s).
	Poll time.Duration `yaml:"poll"`
	// MaxRead caps the registers (or bits) of one read for this model
	// (0: the protocol limit, 125 registers / 2000 bits).
	MaxRead int `yaml:"max_read"`
	// MaxGap is how many unused registers (or bits) between two points a
	// read may go through for this model: 0 the planner's default (8), -1
	// none, for devices that answer exception 02 to an unmapped register.
	MaxGap int `yaml:"max_gap"`
	// Turnaround is how long the model takes to start its reply after a
	// request: the line budget of `config check` counts it on every read
	// (0: drivers/linebudget's default, 5 ms).
	Turnaround time.Duration `yaml:"turnaround"`
	Points     []Point       `yaml:"points"`
	// Params are the site parameters a device of this model takes in the
	// config's devices[].params (params.go).
	Params []Param `yaml:"params"`
	// Commands are what `fenghuo diag control` writes for each action
	// (reset, mute, self-test): a value to a writable point.
	Commands map[string]Command `yaml:"commands"`
	// Rules are the default rules, kept as raw YAML: the gateway decodes
	// each into a rules.Spec (drivers know nothing of rules).
	Rules []yaml.Node `yaml:"rules"`

	// File is where the profile was read from: "embedded:<file>" or a path.
	File string `yaml:"-"`
}

// Point is one named value in a device's register map.
type Point struct {
	Name    string `yaml:"name"`    // [a-z][a-z0-9_]*, unique in the profile
	FC      uint8  `yaml:"fc"`      // function code 1, 2, 3 or 4; 0 means 3
	Address int    `yaml:"address"` // 0-based PDU address, 0..65535
	// Type is one of u16 (default), i16, u32, i32, f32, u64, i64, f64, or
	// bit for a coil / discrete input (fc 1 or 2, which default to bit).
	Type string `yaml:"type"`
	// Order is the byte order of the value on the wire: ABCD (default,
	// big-endian), CDAB (word-swapped), BADC (byte-swapped), DCBA.
	Order  string  `yaml:"order"`
	Scale  float64 `yaml:"scale"`  // engineering = raw × scale + offset; 0 means 1
	Offset float64 `yaml:"offset"` // added after the scale
	Unit   string  `yaml:"unit"`
	// Access is r (default), rw, or w: a write-only command register that
	// is never polled.
	Access string `yaml:"access"`
	// Absent lists engineering values that mean "no sensor connected".
	Absent []float64 `yaml:"absent"`
	// Bits names the bits of a u16 status word (bit 0 = least significant).
	Bits map[int]string `yaml:"bits"`
	// Default is the engineering value the simulator serves at start.
	Default *float64 `yaml:"default"`
	Desc    string   `yaml:"desc"` // free text, e.g. the Chinese name
	// Poll is how often the point is read (0: the profile's poll). Every
	// interval of a profile is a multiple of its fastest one: the
	// scheduler reads a slower point on the turns of the fastest, so a
	// poll that carries it also carries the faster points (DESIGN.md §8.1:
	// status words 1 s, analog values 5 s, energy 60 s, setpoints 10 min).
	Poll time.Duration `yaml:"poll"`
	// Deadband is how far the value must move before telemetry reports it
	// by exception: a number in Unit or a percentage ("10%"); "" = only in
	// the periodic snapshot ([Deadband]).
	Deadband string `yaml:"deadband"`
}

// Readable reports whether the point is polled (access r or rw).
func (p *Point) Readable() bool { return p.Access != "w" }

// Writable reports whether a master may write the point (access rw or w).
func (p *Point) Writable() bool { return p.Access == "rw" || p.Access == "w" }

// Point returns the named point, or nil.
func (p *Profile) Point(name string) *Point {
	for i := range p.Points {
		if p.Points[i].Name == name {
			return &p.Points[i]
		}
	}
	return nil
}

// Set is a collection of profiles by name. It is read-only after Load and
// safe for concurrent use.
type Set struct {
	byName map[string]*Profile
}

// Get returns the profile called name.
func (s *Set) Get(name string) (*Profile, bool) {
	p, ok := s.byName[name]
	return p, ok
}

// Names returns the names of all profiles, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Load returns the embedded profiles plus, when dir is not "", every
// *.yaml file in dir; a file whose name: matches an embedded profile
// replaces it. Every problem of every file is reported at once, as an
// errors.Join of errors that name the file and the key path.
func Load(dir string) (*Set, error) {
	s := &Set{byName: map[string]*Profile{}}
	var errs []error
	embedded, err := loadFS(configs.Profiles, "profiles", "embedded:")
	errs = append(errs, err)
	for _, p := range embedded {
		s.byName[p.Name] = p
	}
	if dir != "" {
		local, err := loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator))
		errs = append(errs, err)
		seen := map[string]string{}
		for _, p := range local {
			if prev, dup := seen[p.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: name: %q is also the name of %s", p.File, p.Name, prev))
				continue
			}
			seen[p.Name] = p.File
			s.byName[p.Name] = p
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// loadFS parses every *.yaml in dir of fsys; prefix is put before each file
// name in Profile.File and in errors.
func loadFS(fsys fs.FS, dir, prefix string) ([]*Profile, error) {
	if _, err := fs.Stat(fsys, dir); err != nil { // Glob hides a missing dir
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // "stat .: …" would name the FS root, not the dir
		}
		return nil, fmt.Errorf("profiles dir %s: %w", strings.TrimSuffix(prefix, string(filepath.Separator)), err)
	}
	files, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	sort.Strings(files)
	var out []*Profile
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := Parse(prefix+path.Base(f), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Parse decodes one profile file strictly (an unknown key is an error),
// fills in defaults and validates it. file names the source in errors.
func Parse(file string, data []byte) (*Profile, error) {
	p := &Profile{File: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", file)
		}
		return nil, decodeError(file, err)
	}
	p.applyDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeError turns a yaml error into one error per problem, each prefixed
// with the file name.
func decodeError(file string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", file, err)
	}
	errs := make([]error, len(te.Errors))
	for i, e := range te.Errors {
		errs[i] = fmt.Errorf("%s: %s", file, e)
	}
	return errors.Join(errs...)
}

// applyDefaults fills in the documented defaults of zero-valued keys.
func (p *Profile) applyDefaults() {
	for i := range p.Points {
		pt := &p.Points[i]
		if pt.FC == 0 {
			pt.FC = 3
		}
		if pt.Type == "" {
			pt.Type = "u16"
			if pt.FC == 1 || pt.FC == 2 {
				pt.Type = "bit"
			}
		}
		if pt.Order == "" {
			pt.Order = "ABCD"
		}
		if pt.Scale == 0 {
			pt.Scale = 1
		}
		if pt.Access == "" {
			pt.Access = "r"
		}
	}
	for i := range p.Params {
		p.Params[i].applyDefaults()
	}
}
