package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// README markers around the generated settings table.
const (
	ReadmeTableBegin = "<!-- settings table: generated from internal/config; regenerate with: go test ./internal/config -run TestREADMESettingsTable -update-readme -->"
	ReadmeTableEnd   = "<!-- end of settings table -->"
)

// MarkdownTable renders every setting as the README's settings table:
// flag, environment, YAML key, default and the usage text (or the longer
// doc tag where a field has one).
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| flag | environment | YAML | default | meaning |\n|---|---|---|---|---|\n")
	d := reflect.ValueOf(Default())
	t := reflect.TypeFor[Config]()
	for _, s := range settings() {
		code := func(xs ...string) string {
			var out []string
			for _, x := range xs {
				if x != "" {
					out = append(out, "`"+x+"`")
				}
			}
			return strings.Join(out, ", ")
		}
		flag := ""
		if s.flag != "" {
			flag = "--" + s.flag
		}
		meaning := s.usage
		if doc := t.Field(s.index).Tag.Get("doc"); doc != "" {
			meaning = doc
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(flag), code(s.envs...), code(s.yaml),
			defaultText(s, d.Field(s.index)), strings.ReplaceAll(meaning, "|", "\\|"))
	}
	return b.String()
}

func defaultText(s setting, v reflect.Value) string {
	switch s.kind {
	case kindString:
		if v.String() == "" {
			return ""
		}
		return "`" + v.String() + "`"
	case kindBool:
		return fmt.Sprintf("`%t`", v.Bool())
	case kindInt:
		return fmt.Sprintf("`%d`", v.Int())
	case kindDuration:
		return "`" + short(time.Duration(v.Int())) + "`"
	case kindStrings:
		if v.Len() == 0 {
			return ""
		}
		return "`" + strings.Join(v.Interface().([]string), ",") + "`"
	}
	return ""
}
