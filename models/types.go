package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
)

// StringList is a []string stored as a JSON array in a text column, so both
// dialects use the same portable column type.
type StringList []string

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		return nil, fmt.Errorf("encode string list: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan string list: unsupported type %T", src)
	}
	if len(b) == 0 {
		*l = nil
		return nil
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("scan string list: %w", err)
	}
	*l = out
	return nil
}

// Has reports whether s is in the list.
func (l StringList) Has(s string) bool { return slices.Contains(l, s) }

// StringMap is a map[string]string stored as a JSON object in a text
// column (an upstream's claim names and group mapping).
type StringMap map[string]string

// Value implements driver.Valuer.
func (m StringMap) Value() (driver.Value, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]string(m))
	if err != nil {
		return nil, fmt.Errorf("encode string map: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (m *StringMap) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan string map: unsupported type %T", src)
	}
	out := map[string]string{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("scan string map: %w", err)
		}
	}
	*m = out
	return nil
}
