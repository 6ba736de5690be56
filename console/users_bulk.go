package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Bulk import and export of users, as CSV or JSON Lines, through the
// same rules as one user at a time. An import is keyed by the address
// (case-insensitively), so running the same file twice changes nothing
// the second time: a new address is created, a known one updated only
// where the file says otherwise (groups are added, never taken away;
// empty cells leave a field as it is), the rest is "unchanged". Every
// row is checked and reported on its own (a bad row does not stop the
// others); each good row is written in one transaction with its audit
// entry. A dry run checks and reports the same without writing.

// Import formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// MaxImportRows bounds one import.
const MaxImportRows = 10000

// importColumns are the CSV header's columns (any order; email is
// required, the others optional).
var importColumns = []string{"email", "name", "verified", "groups", "attributes"}

// exportOnlyColumns are the export's columns that only Sesame sets: an
// import reads past them, so an export imports back unchanged.
var exportOnlyColumns = []string{"id", "username", "disabled", "admin", "created_at"}

// ImportRow is one user of an import file.
type ImportRow struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Verified *bool  `json:"verified,omitempty"`
	// Groups are added to the user's memberships (existing groups only).
	Groups []string `json:"groups,omitempty"`
	// Attributes, when present, replace the user's attributes.
	Attributes json.RawMessage `json:"attributes,omitempty"`
}

// Import actions.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportUnchanged = "unchanged"
	ImportInvalid   = "invalid"
)

// ImportResult is what happened to one row (1-based, the header of a
// CSV file being row 1).
type ImportResult struct {
	Row    int          `json:"row"`
	Email  string       `json:"email"`
	Action string       `json:"action"`
	UserID string       `json:"user_id,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// ImportReport is the answer to an import.
type ImportReport struct {
	DryRun    bool           `json:"dry_run"`
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Invalid   int            `json:"invalid"`
	Rows      []ImportResult `json:"rows"`
}

// ImportLine is a parsed row with where it came from, or why it could
// not be read.
type ImportLine struct {
	n   int
	row ImportRow
	err *Problem
}

// ParseImport reads an import file: CSV with a header row, or JSON Lines
// (one object a line, unknown fields refused). A file that cannot be
// read as a whole (no header, an unknown column, too many rows) is an
// error; a row that cannot be read is reported as that row's problem.
func ParseImport(r io.Reader, format string) ([]ImportLine, error) {
	switch format {
	case FormatCSV:
		return parseCSV(r)
	case FormatJSONL:
		return parseJSONL(r)
	}
	return nil, invalid("format", "csv or jsonl")
}

func parseCSV(r io.Reader) ([]ImportLine, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, invalid("file", "a CSV file whose first row names the columns (%s)", strings.Join(importColumns, ", "))
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if slices.Contains(exportOnlyColumns, h) {
			continue
		}
		if !slices.Contains(importColumns, h) {
			return nil, invalid("file", "unknown column %q: the columns are %s", h, strings.Join(importColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, invalid("file", "the column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok {
		return nil, invalid("file", "the header has no email column")
	}
	var out []ImportLine
	for n := 2; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if len(out) >= MaxImportRows {
			return nil, invalid("file", "at most %d rows at once", MaxImportRows)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
				return nil, invalid("file", "row %d is not valid CSV: %v", n, pe.Err)
			}
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		nr := ImportLine{n: n, row: ImportRow{Email: cell("email"), Name: cell("name"), Groups: strings.FieldsFunc(cell("groups"), func(r rune) bool { return r == ';' || r == ' ' || r == ',' })}}
		if a := cell("attributes"); a != "" {
			nr.row.Attributes = json.RawMessage(a)
		}
		if v := cell("verified"); v != "" {
			b, ok := parseBool(v)
			if !ok {
				nr.err = invalid("verified", "true or false")
			}
			nr.row.Verified = &b
		}
		out = append(out, nr)
	}
	return out, nil
}

func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "yes", "1", "y":
		return true, true
	case "false", "no", "0", "n":
		return false, true
	}
	return false, false
}

func parseJSONL(r io.Reader) ([]ImportLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxAttributesBytes*4)
	var out []ImportLine
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(out) >= MaxImportRows {
			return nil, invalid("file", "at most %d rows at once", MaxImportRows)
		}
		nr := ImportLine{n: n}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		// The export's fields that only Sesame sets are read past, so an
		// export imports back unchanged.
		var row struct {
			ImportRow
			ID        json.RawMessage `json:"id"`
			Username  json.RawMessage `json:"username"`
			Disabled  json.RawMessage `json:"disabled"`
			Admin     json.RawMessage `json:"admin"`
			CreatedAt json.RawMessage `json:"created_at"`
		}
		err := dec.Decode(&row)
		nr.row = row.ImportRow
		if err != nil || dec.More() {
			nr.err = invalid("row", "not a JSON object with the fields %s", strings.Join([]string{"email", "name", "verified", "groups", "attributes"}, ", "))
		}
		out = append(out, nr)
	}
	if err := sc.Err(); err != nil {
		return nil, invalid("file", "a line is too long or the file cannot be read")
	}
	return out, nil
}

// Import applies rows (ParseImport's) and reports each one; with dryRun
// nothing is written.
func (s *Users) Import(ctx context.Context, rows []ImportLine, dryRun bool) (*ImportReport, error) {
	rep := &ImportReport{DryRun: dryRun, Rows: make([]ImportResult, 0, len(rows))}
	seen := map[string]int{}
	for _, nr := range rows {
		res := ImportResult{Row: nr.n, Email: strings.TrimSpace(nr.row.Email)}
		if err := s.importRow(ctx, nr, seen, dryRun, &res); err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status >= 500 {
				return nil, fmt.Errorf("import row %d: %w", nr.n, err)
			}
			res.Action, res.Errors = ImportInvalid, p.Errors
			if len(res.Errors) == 0 {
				res.Errors = []FieldError{{Field: "row", Message: cmpOr(p.Detail, p.Title)}}
			}
		}
		switch res.Action {
		case ImportCreated:
			rep.Created++
		case ImportUpdated:
			rep.Updated++
		case ImportUnchanged:
			rep.Unchanged++
		default:
			rep.Invalid++
		}
		rep.Rows = append(rep.Rows, res)
	}
	return rep, nil
}

// importView is what the audit log records of an imported user.
type importView struct {
	UserView
	Groups     []string          `json:"groups"`
	Attributes models.JSONObject `json:"attributes"`
}

func (s *Users) importRow(ctx context.Context, nr ImportLine, seen map[string]int, dryRun bool, res *ImportResult) error {
	if nr.err != nil {
		return nr.err
	}
	email, eerr := checkEmail("email", nr.row.Email)
	name, nerr := checkName(nr.row.Name)
	var aerr error
	var attrs models.JSONObject
	if len(nr.row.Attributes) > 0 {
		var errs []error
		attrs, errs = attributesOf(nr.row.Attributes)
		if len(errs) > 0 {
			aerr = invalid("attributes", "%s", problemMessages(errors.Join(errs...)))
		}
	}
	var gerr error
	for _, g := range nr.row.Groups {
		if msg := models.GroupNameProblem(g); msg != "" {
			gerr = invalid("groups", "%q: %s", g, msg)
			break
		}
	}
	if gerr == nil {
		missing, err := s.st.MissingGroups(ctx, nr.row.Groups)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			gerr = invalid("groups", "no such group: %s (create it first)", strings.Join(missing, ", "))
		}
	}
	if err := joinProblems(eerr, nerr, aerr, gerr); err != nil {
		return err
	}
	key := store.NormalizeEmail(email)
	if first, dup := seen[key]; dup {
		return invalid("email", "appears already on row %d", first)
	}
	seen[key] = nr.n
	res.Email = email

	u, err := s.st.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, models.ErrNotFound):
		res.Action = ImportCreated
		if dryRun {
			return nil
		}
		err := s.st.WithTx(ctx, func(ctx context.Context) error {
			v, err := s.Create(ctx, email, name, nr.row.Verified != nil && *nr.row.Verified)
			if err != nil {
				return err
			}
			res.UserID = v.ID
			if attrs != nil {
				if err := s.st.SetUserProfile(ctx, v.ID, store.UserProfile{Attributes: attrs}); err != nil {
					return err
				}
			}
			for _, g := range nr.row.Groups {
				if err := s.st.AddGroupMember(ctx, g, v.ID); err != nil && !errors.Is(err, models.ErrAlreadyExists) {
					return err
				}
			}
			after := importView{UserView: *v, Groups: nonNil(nr.row.Groups), Attributes: orEmpty(attrs)}
			return s.audit.Record(ctx, "user.import", "user", v.ID, nil, after)
		})
		if errors.Is(err, models.ErrAlreadyExists) {
			// Created by someone else since the lookup.
			res.UserID = ""
			return invalid("email", "another user has this address")
		}
		return err
	case err != nil:
		return err
	}
	res.UserID = u.ID
	groups, err := s.st.UserGroups(ctx, u.ID)
	if err != nil {
		return err
	}
	next := store.UserIdentity{Email: u.Email, EmailVerified: u.EmailVerified, DisplayName: u.DisplayName}
	if name != "" {
		next.DisplayName = name
	}
	if nr.row.Verified != nil {
		next.EmailVerified = *nr.row.Verified
	}
	var join []string
	for _, g := range nr.row.Groups {
		if !slices.Contains(groups, g) && !slices.Contains(join, g) {
			join = append(join, g)
		}
	}
	identityChanged := next.DisplayName != u.DisplayName || next.EmailVerified != u.EmailVerified
	attrsChanged := attrs != nil && !reflect.DeepEqual(normalizeJSON(attrs), normalizeJSON(u.Attributes))
	if !identityChanged && !attrsChanged && len(join) == 0 {
		res.Action = ImportUnchanged
		return nil
	}
	res.Action = ImportUpdated
	if dryRun {
		return nil
	}
	before := importView{UserView: ViewUser(u), Groups: nonNil(groups), Attributes: orEmpty(u.Attributes)}
	return s.st.WithTx(ctx, func(ctx context.Context) error {
		if identityChanged {
			if err := s.st.SetUserIdentity(ctx, u.ID, next); err != nil {
				return err
			}
		}
		if attrsChanged {
			p := ProfileOf(u)
			prof, err := p.Validate()
			if err != nil {
				return err
			}
			prof.Attributes = attrs
			if err := s.st.SetUserProfile(ctx, u.ID, prof); err != nil {
				return err
			}
		}
		for _, g := range join {
			if err := s.st.AddGroupMember(ctx, g, u.ID); err != nil && !errors.Is(err, models.ErrAlreadyExists) {
				return err
			}
		}
		nu, err := s.st.GetUser(ctx, u.ID)
		if err != nil {
			return err
		}
		after := importView{UserView: ViewUser(nu), Groups: append(slices.Clone(nonNil(groups)), join...), Attributes: orEmpty(nu.Attributes)}
		slices.Sort(after.Groups)
		return s.audit.Record(ctx, "user.import", "user", u.ID, before, after)
	})
}

// normalizeJSON makes two attribute objects comparable (numbers as read
// back from the database and from a file differ in type only).
func normalizeJSON(o models.JSONObject) any {
	b, err := json.Marshal(o)
	if err != nil {
		return nil
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func orEmpty(o models.JSONObject) models.JSONObject {
	if o == nil {
		return models.JSONObject{}
	}
	return o
}

// problemMessages joins the messages of validation errors.
func problemMessages(err error) string {
	var out []FieldError
	collect(err, &out)
	msgs := make([]string, len(out))
	for i, fe := range out {
		msgs[i] = fe.Message
	}
	return strings.Join(msgs, "; ")
}

// ExportRow is one user of an export: what an import reads back, plus
// what only Sesame sets.
type ExportRow struct {
	ID         string            `json:"id"`
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Verified   bool              `json:"verified"`
	Groups     []string          `json:"groups"`
	Attributes models.JSONObject `json:"attributes"`
	Username   string            `json:"username"`
	Disabled   bool              `json:"disabled"`
	Admin      bool              `json:"admin"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Export writes every user q selects as CSV (with a header row, the
// import's columns first) or JSON Lines, a page at a time.
func (s *Users) Export(ctx context.Context, w io.Writer, q UserQuery, format string) error {
	ew, err := newExportWriter(w, format, append(slices.Clone(importColumns), exportOnlyColumns...))
	if err != nil {
		return err
	}
	f := store.UserFilter{Query: q.Query, Admins: q.Admins, Disabled: q.Disabled, Unverified: q.Unverified}
	for offset := 0; ; offset += exportPageSize {
		users, err := s.st.SearchUsersFiltered(ctx, f, offset, exportPageSize)
		if err != nil {
			return err
		}
		ids := make([]string, len(users))
		for i := range users {
			ids[i] = users[i].ID
		}
		groups, err := s.st.GroupsOfUsers(ctx, ids)
		if err != nil {
			return err
		}
		for i := range users {
			u := &users[i]
			r := ExportRow{ID: u.ID, Email: u.Email, Name: u.DisplayName, Verified: u.EmailVerified, Groups: nonNil(groups[u.ID]),
				Attributes: orEmpty(u.Attributes), Username: ViewUser(u).Username, Disabled: u.Disabled, Admin: u.IsAdmin(), CreatedAt: u.CreatedAt.UTC()}
			attrs, err := marshalJSON(r.Attributes, "")
			if err != nil {
				return err
			}
			if err := ew.write(r, func() []string {
				return []string{r.Email, r.Name, strconv.FormatBool(r.Verified), strings.Join(r.Groups, ";"), string(attrs), r.ID, r.Username,
					strconv.FormatBool(r.Disabled), strconv.FormatBool(r.Admin), r.CreatedAt.Format(time.RFC3339)}
			}); err != nil {
				return err
			}
		}
		if err := ew.flush(); err != nil {
			return err
		}
		if len(users) < exportPageSize {
			return nil
		}
	}
}
