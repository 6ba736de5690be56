package console

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// Events searches the sign-in events of every user (the auth events kept
// auth_event_retention): the console's Sign-ins page, GET /events and
// `sesame events list`. Pages go back by an authenticated keyset cursor,
// like the audit log's; the export (ExportEvents) takes the same filters.
type Events struct {
	st eventExportStore
	// key signs the page cursors (the audit log's key).
	key func() []byte
}

// EventSearch selects sign-in events. User is a user id or an address
// (an address no account has selects nothing); Cursor continues a
// previous page.
type EventSearch struct {
	EventQuery
	User   string
	Cursor string
	Limit  int
}

// EventPage is a page of sign-in events, newest first.
type EventPage struct {
	Items []SignInEvent
	// NextCursor fetches the older events; "" when none follow.
	NextCursor string
}

// errNoAccountAddress stops a search whose user filter names no account.
var errNoAccountAddress = errors.New("no user has this address")

// resolve checks q's filters (every problem at once) and turns its user
// filter into a user id.
func (s *Events) resolve(ctx context.Context, q *EventSearch) error {
	var errs []error
	for name, v := range map[string]string{"user": q.User, "user_id": q.UserID, "client_id": q.ClientID, "method": q.Method, "event": q.Event} {
		if len(v) > MaxQueryLen {
			errs = append(errs, invalid(name, "at most %d characters", MaxQueryLen))
		}
	}
	if q.Result != "" && q.Result != models.ResultSuccess && q.Result != models.ResultFailure {
		errs = append(errs, invalid("result", "success or failure"))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		errs = append(errs, invalid("until", "after since"))
	}
	if err := joinProblems(errs...); err != nil {
		return err
	}
	u := strings.TrimSpace(q.User)
	switch {
	case u == "":
	case strings.Contains(u, "@"):
		found, err := s.st.GetUserByEmail(ctx, u)
		if errors.Is(err, models.ErrNotFound) {
			return errNoAccountAddress
		}
		if err != nil {
			return err
		}
		q.UserID = found.ID
	default:
		q.UserID = u
	}
	return nil
}

// Search returns a page of the events q selects, newest first, each with
// the user's current address.
func (s *Events) Search(ctx context.Context, q EventSearch) (*EventPage, error) {
	if err := s.resolve(ctx, &q); err != nil {
		if errors.Is(err, errNoAccountAddress) {
			return &EventPage{Items: []SignInEvent{}}, nil
		}
		return nil, err
	}
	r := store.EventRange{Since: q.Since, Until: q.Until, UserID: q.UserID, ClientID: q.ClientID, Method: q.Method, Result: q.Result, Event: q.Event}
	if q.Cursor != "" {
		at, id, err := decodeCursor(s.key(), q.Cursor)
		if err != nil {
			return nil, invalid("cursor", "not a cursor from a previous page")
		}
		r.BeforeAt, r.BeforeID = at, id
	}
	limit := ClampLimit(q.Limit)
	rows, err := s.st.ListAuthEventsRange(ctx, r, limit+1)
	if err != nil {
		return nil, err
	}
	p := &EventPage{}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		p.NextCursor = encodeCursor(s.key(), last.At, last.ID)
	}
	if p.Items, err = withEmails(ctx, s.st, rows); err != nil {
		return nil, err
	}
	return p, nil
}

// Export writes every event q selects (its cursor and limit ignored) in
// format, as ExportEvents does.
func (s *Events) Export(ctx context.Context, w io.Writer, q EventSearch, format string) error {
	if err := s.resolve(ctx, &q); err != nil {
		if !errors.Is(err, errNoAccountAddress) {
			return err
		}
		// Nobody has the address: an export of nothing (CSV's header).
		ew, err := newExportWriter(w, format, eventExportHeader)
		if err != nil {
			return err
		}
		return ew.flush()
	}
	return ExportEvents(ctx, s.st, w, q.EventQuery, format)
}

// withEmails makes the views of rows, each with its user's address (empty
// for a deleted or unknown user).
func withEmails(ctx context.Context, st eventExportStore, rows []models.AuthEvent) ([]SignInEvent, error) {
	var ids []string
	for _, e := range rows {
		if e.UserID != "" {
			ids = append(ids, e.UserID)
		}
	}
	users, err := st.UsersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]SignInEvent, 0, len(rows))
	for _, e := range rows {
		v := SignInEvent{ID: e.ID, At: e.At.UTC(), Event: e.Event, Result: e.Result, Reason: e.Reason, Method: e.Method, UserID: e.UserID,
			ClientID: e.ClientID, AAGUID: e.AAGUID, IP: e.IP, UserAgent: e.UserAgent}
		if u := users[e.UserID]; u != nil {
			v.Email = u.Email
		}
		out = append(out, v)
	}
	return out, nil
}
