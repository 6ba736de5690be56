package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// The config file location has to be known before the file layer is applied,
// so it is read ahead of the generic layers. These must match the tags on
// Config.ConfigFile (a test checks).
const (
	configFlag = "config"
	configEnv  = "SESAME_CONFIG"
)

// kind is the set of Go types the loader understands.
type kind int

const (
	kindString kind = iota
	kindBool
	kindInt
	kindDuration
	kindStrings
)

// setting is one Config field as described by its struct tags.
type setting struct {
	index  int
	field  string
	yaml   string // "" when the setting cannot come from YAML
	envs   []string
	flag   string
	usage  string
	secret string
	kind   kind
}

// settings derives the setting table from Config's tags. It is recomputed on
// each call instead of cached so the package has no global state; Config has
// a couple of dozen fields, so the cost is negligible.
func settings() []setting {
	t := reflect.TypeFor[Config]()
	out := make([]setting, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		s := setting{
			index:  i,
			field:  f.Name,
			flag:   f.Tag.Get("flag"),
			usage:  f.Tag.Get("usage"),
			secret: f.Tag.Get("secret"),
		}
		if y := f.Tag.Get("yaml"); y != "-" {
			s.yaml, _, _ = strings.Cut(y, ",")
		}
		if e := f.Tag.Get("env"); e != "" {
			s.envs = strings.Split(e, ",")
		}
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			s.kind = kindDuration
		case f.Type.Kind() == reflect.String:
			s.kind = kindString
		case f.Type.Kind() == reflect.Bool:
			s.kind = kindBool
		case f.Type.Kind() == reflect.Int:
			s.kind = kindInt
		case f.Type == reflect.TypeFor[[]string]():
			s.kind = kindStrings
		default:
			// A programming error in this package, caught by the tests.
			panic(fmt.Sprintf("config: field %s has unsupported type %s", f.Name, f.Type))
		}
		out = append(out, s)
	}
	return out
}

// flagAnnotation marks the flags RegisterFlags made, so Load reads only
// those: a command's own flag of the same name (client create's
// --access-token-ttl is the client's lifetime) is not a setting.
const flagAnnotation = "sesame/setting"

// RegisterFlags adds one flag per setting to fs, or, given flag names, only
// those (a command shows only the settings it uses; the rest still come
// from the environment and the config file). An unknown name panics: a
// programming error the tests catch. Defaults come from Default so that
// --help shows them, and each usage line names the environment variable
// too, since that is how most deployments configure Sesame.
func RegisterFlags(fs *pflag.FlagSet, names ...string) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	d := reflect.ValueOf(Default())
	for _, s := range settings() {
		if s.flag == "" || (len(names) > 0 && !want[s.flag]) {
			continue
		}
		delete(want, s.flag)
		usage := s.usage
		if len(s.envs) > 0 {
			usage += " (env " + strings.Join(s.envs, " or ") + ")"
		}
		def := d.Field(s.index)
		switch s.kind {
		case kindString:
			fs.String(s.flag, def.String(), usage)
		case kindBool:
			fs.Bool(s.flag, def.Bool(), usage)
		case kindInt:
			fs.Int(s.flag, int(def.Int()), usage)
		case kindDuration:
			fs.Duration(s.flag, time.Duration(def.Int()), usage)
		case kindStrings:
			// StringSlice accepts both repetition and comma separation,
			// matching the comma-separated environment form.
			fs.StringSlice(s.flag, def.Interface().([]string), usage)
		}
		_ = fs.SetAnnotation(s.flag, flagAnnotation, []string{s.field})
	}
	for n := range want {
		panic("config: RegisterFlags: no setting has the flag --" + n)
	}
}

// EnvNames lists every environment variable a setting reads (a setting
// may have more than one), in Config's field order.
func EnvNames() []string {
	var out []string
	for _, s := range settings() {
		out = append(out, s.envs...)
	}
	return out
}

// FlagNames lists every setting's flag name, in Config's field order.
func FlagNames() []string {
	var out []string
	for _, s := range settings() {
		if s.flag != "" {
			out = append(out, s.flag)
		}
	}
	return out
}

// isSettingFlag reports whether fl was registered by RegisterFlags.
func isSettingFlag(fl *pflag.Flag) bool {
	_, ok := fl.Annotations[flagAnnotation]
	return ok
}

// Load builds the effective configuration: defaults, then the YAML file named
// by --config or SESAME_CONFIG (if any), then environment variables, then the
// flags the user actually set. A nil fs means no flags; a nil getenv means an
// empty environment (callers normally pass os.Getenv). Environment variables
// set to the empty string count as unset, because getenv cannot tell the two
// apart.
//
// Load does not validate; call Validate on the result.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := Default()
	specs := settings()
	v := reflect.ValueOf(&cfg).Elem()

	path := getenv(configEnv)
	if fl := flagOf(fs, configFlag); fl != nil && fl.Changed {
		p, err := fs.GetString(configFlag)
		if err != nil {
			return Config{}, fmt.Errorf("flag --%s: %w", configFlag, err)
		}
		path = p
	}
	if path != "" {
		if err := loadFile(&cfg, path); err != nil {
			return Config{}, err
		}
	}

	for _, s := range specs {
		for _, name := range s.envs {
			raw := getenv(name)
			if raw == "" {
				continue
			}
			if err := setText(v.Field(s.index), s, raw); err != nil {
				return Config{}, fmt.Errorf("environment variable %s: %w", name, err)
			}
			// Earlier names in the tag take precedence.
			break
		}
	}

	if fs != nil {
		for _, s := range specs {
			fl := flagOf(fs, s.flag)
			if fl == nil || !fl.Changed {
				continue
			}
			if err := setFlag(v.Field(s.index), s, fl); err != nil {
				return Config{}, fmt.Errorf("flag --%s: %w", s.flag, err)
			}
		}
	}

	// Issuer URLs are compared byte for byte by clients; a pasted trailing
	// slash is the most common mismatch, so forgive exactly one.
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	cfg.ConfigFile = path
	return cfg, nil
}

// flagOf is the setting flag name in fs, or nil when fs has none (or only
// a command's own flag of that name).
func flagOf(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil || name == "" {
		return nil
	}
	if fl := fs.Lookup(name); fl != nil && isSettingFlag(fl) {
		return fl
	}
	return nil
}

// loadFile applies the YAML file at path on top of cfg.
func loadFile(cfg *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file is an empty config
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	// A second document would otherwise be silently ignored.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		return fmt.Errorf("config file %s: multiple YAML documents are not supported", path)
	}
	if err := applyYAML(cfg, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// applyYAML walks the mapping itself rather than using yaml.v3's struct
// decoding, so that errors name the offending key and durations accept only
// Go duration strings (yaml.v3 would take a bare integer as nanoseconds).
func applyYAML(cfg *Config, n *yaml.Node) error {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // a file holding only comments
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: top level must be a mapping of settings", n.Line)
	}
	byKey := make(map[string]setting)
	for _, s := range settings() {
		if s.yaml != "" {
			byKey[s.yaml] = s
		}
	}
	v := reflect.ValueOf(cfg).Elem()
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
		s, ok := byKey[k.Value]
		if k.Kind != yaml.ScalarNode || !ok {
			return fmt.Errorf("line %d: unknown key %q", k.Line, k.Value)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
		}
		seen[k.Value] = true
		if err := setYAML(v.Field(s.index), s, val); err != nil {
			return fmt.Errorf("line %d: %s: %w", val.Line, k.Value, err)
		}
	}
	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// setYAML stores a YAML value. An explicit null sets the zero value, as
// yaml.v3 does when decoding into a struct.
func setYAML(f reflect.Value, s setting, n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		f.SetZero()
		return nil
	}
	switch s.kind {
	case kindStrings:
		if n.Kind != yaml.SequenceNode {
			return errors.New("want a list")
		}
		// nil for an empty list, matching Default and the env layer.
		var list []string
		for _, item := range n.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: list items must be strings", item.Line)
			}
			list = append(list, item.Value)
		}
		f.Set(reflect.ValueOf(list))
		return nil
	case kindBool:
		// Decode (not strconv) so YAML's own boolean spellings apply.
		var b bool
		if err := n.Decode(&b); err != nil {
			return errors.New("want true or false")
		}
		f.SetBool(b)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a single value, not a list or mapping")
	}
	return setText(f, s, n.Value)
}

// setText parses the textual form used by environment variables (and YAML
// scalars). Secret values are never echoed in errors.
func setText(f reflect.Value, s setting, raw string) error {
	switch s.kind {
	case kindString:
		f.SetString(raw)
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want true or false: %w", redact(s, err))
		}
		f.SetBool(b)
	case kindInt:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want an integer: %w", redact(s, err))
		}
		f.SetInt(int64(n))
	case kindDuration:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want a duration such as 90s, 15m or 1h30m: %w", redact(s, err))
		}
		f.SetInt(int64(d))
	case kindStrings:
		var list []string
		for item := range strings.SplitSeq(raw, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.Set(reflect.ValueOf(list))
	}
	return nil
}

func redact(s setting, err error) error {
	if s.secret != "" {
		return errors.New("invalid value (not shown because it is secret)")
	}
	return err
}

// setFlag reads a flag through its textual value rather than typed getters,
// so it works however the caller registered the flag.
func setFlag(f reflect.Value, s setting, fl *pflag.Flag) error {
	if fl == nil {
		return nil
	}
	if s.kind == kindStrings {
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			f.Set(reflect.ValueOf(sv.GetSlice()))
			return nil
		}
	}
	return setText(f, s, fl.Value.String())
}
