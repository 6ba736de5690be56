package config

import (
	"fmt"
	"io"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

// WriteYAML writes c as a YAML config file that Load accepts back. It does
// not mask secrets; call Masked first when the output is for display.
func (c Config) WriteYAML(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return nil
}

// MarshalYAML emits settings in declaration order with durations as Go
// duration strings ("1h0m0s"); yaml.v3 would otherwise print them as
// nanosecond integers, which Load (rightly) refuses to read back.
func (c Config) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	v := reflect.ValueOf(c)
	for _, s := range settings() {
		if s.yaml == "" {
			continue
		}
		var val any = v.Field(s.index).Interface()
		switch x := val.(type) {
		case time.Duration:
			val = x.String()
		case []string:
			if x == nil {
				val = []string{} // print "[]" rather than null
			}
		}
		var n yaml.Node
		if err := n.Encode(val); err != nil {
			return nil, fmt.Errorf("%s: %w", s.yaml, err)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.yaml}, &n)
	}
	return m, nil
}

// UnmarshalYAML applies a YAML mapping on top of c with the same rules as the
// config file layer of Load (unknown keys rejected, durations as strings), so
// yaml.Unmarshal into a Config cannot quietly disagree with Load.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	return applyYAML(c, n)
}
