package config

import (
	"fmt"
	"reflect"
)

// SecretFile is a secret setting whose value is to be read from a file
// (its X-file companion is set).
type SecretFile struct {
	Setting     string // the secret's flag name, e.g. "database-url"
	FileSetting string // its companion's, e.g. "database-url-file"
	Env         string // the companion's environment variable, for messages
	Path        string
	AlsoSet     bool // the secret is set directly too (Validate refuses that)
}

// fileCompanion returns the index of the XFile field of secret setting s,
// or -1 when it has none (a test makes sure every secret has one).
func fileCompanion(s setting) int {
	f, ok := reflect.TypeFor[Config]().FieldByName(s.field + "File")
	if !ok || f.Type.Kind() != reflect.String {
		return -1
	}
	return f.Index[0]
}

// SecretFiles lists the secret settings whose file companion is set, in
// the order of Config's fields.
func (c Config) SecretFiles() []SecretFile {
	v := reflect.ValueOf(c)
	var out []SecretFile
	for _, s := range settings() {
		if s.secret == "" {
			continue
		}
		i := fileCompanion(s)
		if i < 0 || v.Field(i).String() == "" {
			continue
		}
		fs := settingAt(i)
		env := ""
		if len(fs.envs) > 0 {
			env = fs.envs[0]
		}
		out = append(out, SecretFile{Setting: s.flag, FileSetting: fs.flag, Env: env, Path: v.Field(i).String(), AlsoSet: v.Field(s.index).String() != ""})
	}
	return out
}

// WithSecret returns a copy with the secret setting named by its flag set
// to value and its file companion cleared: the file has been read, and the
// copy holds one source only, as Validate requires.
func (c Config) WithSecret(flag, value string) (Config, error) {
	for _, s := range settings() {
		if s.flag != flag || s.secret == "" {
			continue
		}
		out := c
		v := reflect.ValueOf(&out).Elem()
		v.Field(s.index).SetString(value)
		if i := fileCompanion(s); i >= 0 {
			v.Field(i).SetString("")
		}
		return out, nil
	}
	return c, fmt.Errorf("config: %q is not a secret setting", flag)
}

// secretSourceProblems reports secrets set both directly and by file: two
// sources would leave it unclear which one is in use (for the system
// secret: which one encrypted existing data).
func (c Config) secretSourceProblems() []check {
	v := reflect.ValueOf(c)
	var out []check
	for _, s := range settings() {
		if s.secret == "" {
			continue
		}
		i := fileCompanion(s)
		if i < 0 {
			continue
		}
		fs := settingAt(i)
		both := v.Field(s.index).String() != "" && v.Field(i).String() != ""
		out = append(out, check{both, fmt.Sprintf("%s: set either %s or %s, not both", s.flag, s.flag, fs.flag)})
	}
	return out
}

func settingAt(i int) setting {
	for _, s := range settings() {
		if s.index == i {
			return s
		}
	}
	panic(fmt.Sprintf("config: no setting at field %d", i))
}
