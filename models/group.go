package models

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Group is a named set of users. Its name is unique and is what tokens
// carry in the groups claim and what clients list in AllowedGroups.
type Group struct {
	ID          string `gorm:"primaryKey"`
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Members is filled by GetGroup only (not a column).
	Members []User `gorm:"-"`
	// MemberCount is filled by ListGroups only (not a column).
	MemberCount int64 `gorm:"-"`
}

// GroupMember makes a user a member of a group.
type GroupMember struct {
	GroupID string `gorm:"primaryKey"`
	UserID  string `gorm:"primaryKey"`
	// GrantedBy is "" for a membership an administrator gave, or
	// GrantedByUpstream(id) for one an upstream provider's group mapping
	// gave (and takes back when the upstream stops asserting it).
	GrantedBy string
	CreatedAt time.Time
}

// GrantedByUpstream is the GrantedBy of memberships the group mapping of
// upstream provider id grants.
func GrantedByUpstream(id string) string { return "upstream:" + id }

// JSONObject is a JSON object stored as text in both dialects (the
// users.attributes column): never nil when read, {} when empty.
type JSONObject map[string]any

// Value implements driver.Valuer.
func (o JSONObject) Value() (driver.Value, error) {
	if o == nil {
		return "{}", nil
	}
	b, err := json.Marshal(map[string]any(o))
	if err != nil {
		return nil, fmt.Errorf("encode json object: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (o *JSONObject) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*o = JSONObject{}
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan json object: unsupported type %T", src)
	}
	out := JSONObject{}
	if len(b) > 0 {
		// Numbers stay json.Number: an attribute such as an employee id
		// keeps every digit on its way into a token.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return fmt.Errorf("scan json object: %w", err)
		}
	}
	*o = out
	return nil
}

// MaxGroupNameLen bounds a group name: it travels in every token of its
// members.
const MaxGroupNameLen = 64

// GroupNameProblem says what is wrong with a group name ("" when it is
// valid): 1 to 64 characters, letters, digits and . _ : - , starting with
// a letter or digit, so names are safe in claims, URLs and CLI arguments.
func GroupNameProblem(name string) string {
	if name == "" {
		return "required"
	}
	if len(name) > MaxGroupNameLen {
		return fmt.Sprintf("at most %d characters", MaxGroupNameLen)
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._:-", r)) {
			return "only letters, digits and . _ : - (starting with a letter or digit)"
		}
	}
	return ""
}

// Claim sources of a custom scope.
const (
	ClaimFromAttribute = "attribute"
	ClaimFromGroups    = "groups"
)

// CustomScope is a scope defined by an admin: granting it releases its
// claims.
type CustomScope struct {
	Name        string `gorm:"primaryKey"`
	Description string
	Claims      ScopeClaims
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ScopeClaim is one claim a custom scope releases: the value of the user's
// attribute Attribute (Source ClaimFromAttribute), or the user's group
// names (Source ClaimFromGroups).
type ScopeClaim struct {
	Claim     string `json:"claim"`
	Source    string `json:"source"`
	Attribute string `json:"attribute,omitempty"`
}

// ScopeClaims is a []ScopeClaim stored as JSON text.
type ScopeClaims []ScopeClaim

// Value implements driver.Valuer.
func (l ScopeClaims) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]ScopeClaim(l))
	if err != nil {
		return nil, fmt.Errorf("encode scope claims: %w", err)
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (l *ScopeClaims) Scan(src any) error {
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
		return fmt.Errorf("scan scope claims: unsupported type %T", src)
	}
	var out []ScopeClaim
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			return fmt.Errorf("scan scope claims: %w", err)
		}
	}
	*l = out
	return nil
}
