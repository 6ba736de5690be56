package oidc

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sesame-idp/sesame/models"
)

// Access tokens are read far more often than they are written: an API
// introspects the token of every call it serves, userinfo reads it again.
// A record's data never changes once written (only its active flag and
// deactivation time do), so the decoded form of an access token's data is
// kept in memory; a later read asks the database only for the record's
// head (every column but the data) and so still sees, on every replica,
// a revocation the moment it commits. Decoding the JSON of a stored
// request was a fifth of an introspection's server CPU.

// decodedCacheSize bounds the cache (a decoded request is about 1–2 KB).
const decodedCacheSize = 4096

// decodedRecord is an access token's decoded data, with what identifies
// the row it came from: a row deleted and written again under the same
// signature (it does not happen: signatures are of random tokens) would
// not match and be read whole.
type decodedRecord struct {
	requestID, clientID string
	createdAt           time.Time
	sr                  *storedRequest
}

func newDecodedCache() *lru.Cache[string, *decodedRecord] {
	c, err := lru.New[string, *decodedRecord](decodedCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return c
}

// cachedAccess reads the access token record under signature through the
// cache: ok is false when the record must be read whole (not cached, or
// the store cannot read heads). Token requests (a record memo in ctx) read
// as before, so their statements stay what the flow tests pin.
func (s *Storage) cachedAccess(ctx context.Context, signature string, session *Session) (*storedRequest, *models.OAuth2Request, bool, error) {
	if s.decoded == nil {
		return nil, nil, false, nil
	}
	if _, memo := ctx.Value(memoKey{}).(*recordMemo); memo {
		return nil, nil, false, nil
	}
	d, ok := s.decoded.Get(signature)
	if !ok {
		return nil, nil, false, nil
	}
	ctx, err := s.prepare(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	row, err := s.st.GetOAuth2RequestHead(ctx, models.KindAccessToken, signature)
	if errors.Is(err, models.ErrNotFound) {
		s.decoded.Remove(signature)
		return nil, nil, false, err
	}
	if err != nil {
		return nil, nil, false, err
	}
	if row.RequestID != d.requestID || row.ClientID != d.clientID || !row.CreatedAt.Equal(d.createdAt) {
		s.decoded.Remove(signature)
		return nil, nil, false, nil
	}
	sr := d.sr.clone()
	sr.S.applyTo(session)
	return sr, row, true, nil
}

// remember caches a record's decoded data when it is an access token's in
// the compact encoding (the only kind read again and again).
func (s *Storage) remember(kind string, row *models.OAuth2Request, sr *storedRequest) {
	if s.decoded == nil || kind != models.KindAccessToken || sr.S == nil {
		return
	}
	s.decoded.Add(row.Signature, &decodedRecord{requestID: row.RequestID, clientID: row.ClientID, createdAt: row.CreatedAt, sr: sr.clone()})
}

// clone copies sr deeply enough that nothing a request or fosite changes
// in what it is handed reaches the cached copy.
func (sr *storedRequest) clone() *storedRequest {
	cp := *sr
	cp.RequestedScope = slices.Clone(sr.RequestedScope)
	cp.GrantedScope = slices.Clone(sr.GrantedScope)
	cp.RequestedAudience = slices.Clone(sr.RequestedAudience)
	cp.GrantedAudience = slices.Clone(sr.GrantedAudience)
	cp.Form = cloneForm(sr.Form)
	if sr.Also != nil {
		cp.Also = make(map[string]url.Values, len(sr.Also))
		for k, f := range sr.Also {
			cp.Also[k] = cloneForm(f)
		}
	}
	cp.Session = slices.Clone(sr.Session)
	if sr.S != nil {
		cp.S = sr.S.clone()
	}
	if sr.Authorize != nil {
		a := *sr.Authorize
		a.ResponseTypes = slices.Clone(a.ResponseTypes)
		cp.Authorize = &a
	}
	return &cp
}

func cloneForm(f url.Values) url.Values {
	if f == nil {
		return nil
	}
	cp := make(url.Values, len(f))
	for k, v := range f {
		cp[k] = slices.Clone(v)
	}
	return cp
}

// clone copies c deeply (its maps hold JSON values).
func (c *compactSession) clone() *compactSession {
	cp := *c
	cp.ExpiresAt = maps.Clone(c.ExpiresAt)
	cp.Headers = cloneJSONMap(c.Headers)
	cp.Ext = cloneJSONMap(c.Ext)
	cp.AccessAud = slices.Clone(c.AccessAud)
	cp.AccessScope = slices.Clone(c.AccessScope)
	cp.Act = c.Act.clone()
	if c.Claims != nil {
		cl := *c.Claims
		cl.Audience = slices.Clone(c.Claims.Audience)
		cl.AMR = slices.Clone(c.Claims.AMR)
		cl.Extra = cloneJSONMap(c.Claims.Extra)
		cp.Claims = &cl
	}
	return &cp
}

func (a *Actor) clone() *Actor {
	if a == nil {
		return nil
	}
	return &Actor{Sub: a.Sub, Act: a.Act.clone()}
}

func cloneJSONMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = cloneJSON(v)
	}
	return cp
}

// cloneJSON copies a value as encoding/json decodes (or a session holds)
// it: maps and slices are copied, everything else is a value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneJSONMap(v)
	case []any:
		cp := make([]any, len(v))
		for i, e := range v {
			cp[i] = cloneJSON(e)
		}
		return cp
	case []string:
		return slices.Clone(v)
	}
	return v
}
