package oidc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	lru "github.com/hashicorp/golang-lru/v2"
	"net/url"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/storage"

	"github.com/sesame-idp/sesame/internal/clock"
	"github.com/sesame-idp/sesame/internal/takeonce"
	"github.com/sesame-idp/sesame/models"
)

// Store is the part of the data layer the fosite adapter needs.
type Store interface {
	CreateOAuth2Request(ctx context.Context, r *models.OAuth2Request) error
	// CreateOAuth2RequestRelaxed may return before the record is on disk
	// (appToken).
	CreateOAuth2RequestRelaxed(ctx context.Context, r *models.OAuth2Request) error
	CreateOAuth2Requests(ctx context.Context, rs []*models.OAuth2Request) error
	GetOAuth2Request(ctx context.Context, kind, signature string) (*models.OAuth2Request, error)
	// GetOAuth2RequestHead reads a record without its data.
	GetOAuth2RequestHead(ctx context.Context, kind, signature string) (*models.OAuth2Request, error)
	GetOAuth2RequestsBySignature(ctx context.Context, signature string, kinds ...string) ([]models.OAuth2Request, error)
	DeactivateOAuth2Request(ctx context.Context, kind, signature string) error
	// RedeemOAuth2Request deactivates the active record of kind under
	// signature and creates rs with it, or neither (models.ErrConsumed).
	RedeemOAuth2Request(ctx context.Context, kind, signature string, rs []*models.OAuth2Request) error
	DeactivateOAuth2RequestsByRequestID(ctx context.Context, kind, requestID string) error
	HasActiveOAuth2Request(ctx context.Context, kind, requestID string) (bool, error)
	DeactivatedWithin(ctx context.Context, kind, signature string, d time.Duration) (bool, error)
	DeleteOAuth2Request(ctx context.Context, kind, signature string) error
	DeleteOAuth2RequestsByRequestID(ctx context.Context, kind, requestID string) error
	JTIUsed(ctx context.Context, jti string) (bool, error)
	MarkJTIUsed(ctx context.Context, jti string, exp time.Time) error
	BeginTx(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// clientGetter loads clients (through the cache).
type clientGetter interface {
	GetClient(ctx context.Context, id string) (fosite.Client, error)
}

// Storage adapts the store to fosite's storage interfaces. It holds no SQL:
// it translates fosite requesters to rows and back.
type Storage struct {
	st      Store
	clients clientGetter
	// reuseInterval is how long after its rotation a refresh token may be
	// presented again by its client (a concurrent refresh, a retry after
	// a timeout) and get a fresh pair instead of revoking the family; 0
	// turns the allowance off.
	reuseInterval time.Duration
	// assertionLeeway is how long past its exp a client assertion is
	// still accepted (Config.ClockSkewLeeway).
	assertionLeeway time.Duration
	// codeSignature is the authorization code strategy's signature of a
	// code: fosite hands the OpenID Connect storage the code itself, and
	// its record is kept under the signature like the code's and PKCE's
	// (no redeemable code in the database, one read for all three).
	codeSignature func(ctx context.Context, code string) string
	// decoded keeps access tokens' decoded data (storage_cache.go).
	decoded *lru.Cache[string, *decodedRecord]
	// kept holds the codes this replica wrote, for their exchange
	// (code_keep.go).
	kept *takeonce.Cache[string, []models.OAuth2Request]
}

var (
	_ fosite.ClientManager               = (*Storage)(nil)
	_ oauth2.CoreStorage                 = (*Storage)(nil)
	_ oauth2.TokenRevocationStorage      = (*Storage)(nil)
	_ openid.OpenIDConnectRequestStorage = (*Storage)(nil)
	_ pkce.PKCERequestStorage            = (*Storage)(nil)
	_ storage.Transactional              = (*Storage)(nil)
)

// NewStorage returns the fosite storage adapter; reuseInterval is the
// refresh-token reuse interval (see Storage.GetRefreshTokenSession).
func NewStorage(st Store, clients clientGetter, reuseInterval time.Duration) *Storage {
	return &Storage{st: st, clients: clients, reuseInterval: max(reuseInterval, 0), decoded: newDecodedCache(),
		kept: takeonce.New[string, []models.OAuth2Request](keptCodeSize, keptCodeTTL, clock.Now)}
}

// storedRequest is the JSON form of a fosite request. Secrets never get
// here: fosite sanitizes the form, and we strip what must not be kept.
// The request id and the client id are the row's columns; records written
// before the compact encoding (session_codec.go) also hold them here.
type storedRequest struct {
	ID                string     `json:"id,omitempty"`
	RequestedAt       time.Time  `json:"requested_at"`
	ClientID          string     `json:"client_id,omitempty"`
	RequestedScope    []string   `json:"requested_scope,omitempty"`
	GrantedScope      []string   `json:"granted_scope,omitempty"`
	RequestedAudience []string   `json:"requested_audience,omitempty"`
	GrantedAudience   []string   `json:"granted_audience,omitempty"`
	Form              url.Values `json:"form,omitempty"`
	// S is a Sesame session in the compact encoding; Session any other
	// session, and every session stored before S existed (the whole
	// fosite session as encoding/json writes it).
	S       *compactSession `json:"s,omitempty"`
	Session json.RawMessage `json:"session,omitempty"`
	// Authorize is what a pushed authorization request holds beyond a
	// request (par.go); nil for every other kind.
	Authorize *storedAuthorize `json:"authorize,omitempty"`
	// Also are the records an authorization code's record holds besides
	// its own: fosite stores the code, its PKCE and its OpenID Connect
	// records one by one, the same request under one signature, differing
	// only in the form each keeps. Written together they are one row; by
	// kind, the form that record was given.
	Also map[string]url.Values `json:"also,omitempty"`
}

// decodeRequest reads a record's data and its session into session.
func decodeRequest(data string, session fosite.Session) (*storedRequest, error) {
	var sr storedRequest
	if err := json.Unmarshal([]byte(data), &sr); err != nil {
		return nil, fmt.Errorf("decode request: %w", err)
	}
	if ss, ok := session.(*Session); ok && sr.S != nil {
		sr.S.applyTo(ss)
		return &sr, nil
	}
	if sr.S != nil {
		return nil, fmt.Errorf("decode session: a compact session read into %T", session)
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	return &sr, nil
}

// decodeRecord is decodeRequest of row's data, decoded once per token
// request (its memo): a record read again is a copy of the first decoding.
func decodeRecord(ctx context.Context, row *models.OAuth2Request, session fosite.Session) (*storedRequest, error) {
	m, memo := ctx.Value(memoKey{}).(*recordMemo)
	ss, ours := session.(*Session)
	if memo && ours {
		if sr, ok := m.decoded[row]; ok {
			cp := sr.clone()
			cp.S.applyTo(ss)
			return cp, nil
		}
	}
	sr, err := decodeRequest(row.Data, session)
	if err == nil && memo && ours && sr.S != nil {
		m.decoded[row] = sr.clone()
	}
	return sr, err
}

// neverStored are form fields that are secrets or single-use proofs.
var neverStored = []string{"client_secret", "code_verifier", "password", "client_assertion", "refresh_token", "code", "subject_token", "actor_token"}

func (s *Storage) create(ctx context.Context, kind, signature string, r fosite.Requester, accessSignature string) error {
	form := url.Values{}
	for k, v := range r.GetRequestForm() {
		form[k] = v
	}
	for _, k := range neverStored {
		form.Del(k)
	}
	stored := r.GetSession()
	if ss, ok := stored.(*Session); ok && kind == models.KindRefreshToken && ss.DPoPJKT != ss.RefreshJKT {
		// A refresh token is bound to its own key, if any (dpop.go), not
		// to the access token's: introspection describes it so.
		cp, _ := ss.Clone().(*Session)
		cp.DPoPJKT = ss.RefreshJKT
		stored = cp
	}
	sr := storedRequest{
		RequestedAt:       r.GetRequestedAt(),
		RequestedScope:    r.GetRequestedScopes(),
		RequestedAudience: r.GetRequestedAudience(),
		Form:              form,
		Authorize:         authorizeParts(kind, r),
	}
	if ss, ok := stored.(*Session); ok && ss.DefaultSession != nil {
		sr.S = compact(ss)
	} else {
		sess, err := json.Marshal(stored)
		if err != nil {
			return fmt.Errorf("encode session: %w", err)
		}
		sr.Session = sess
	}
	grantedScope, grantedAudience := r.GetGrantedScopes(), r.GetGrantedAudience()
	if ss, ok := r.GetSession().(*Session); ok && kind == models.KindAccessToken {
		// An access token narrowed by resource parameters (resources.go)
		// is described by introspection as narrowed.
		if ss.AccessScope != nil {
			grantedScope = ss.AccessScope
		}
		if ss.AccessAud != nil {
			grantedAudience = ss.AccessAud
		}
	}
	sr.GrantedScope, sr.GrantedAudience = grantedScope, grantedAudience
	row := &models.OAuth2Request{
		Kind:            kind,
		Signature:       signature,
		RequestID:       r.GetID(),
		ClientID:        r.GetClient().GetID(),
		Active:          true,
		RequestedAt:     r.GetRequestedAt().UTC(),
		ExpiresAt:       expiry(kind, r.GetSession()),
		AccessSignature: accessSignature,
		CreatedAt:       clock.Now().UTC(),
	}
	if sess, ok := r.GetSession().(*Session); ok {
		row.Subject = sess.GetSubject()
		row.SessionID = sess.SID
	}
	if b, ok := ctx.Value(batchKey{}).(*batch); ok {
		if code := b.codeOf(kind, row); code != nil {
			// The code's record holds this one: the same request,
			// written once (storedRequest.Also).
			if code.sr.Also == nil {
				code.sr.Also = map[string]url.Values{}
			}
			code.sr.Also[kind] = sr.Form
			return nil
		}
		b.rows = append(b.rows, heldRecord{row: row, sr: &sr})
		return nil
	}
	if err := encodeRecord(row, &sr); err != nil {
		return err
	}
	if appToken(ctx, kind, r) {
		return s.st.CreateOAuth2RequestRelaxed(ctx, row)
	}
	return s.st.CreateOAuth2Request(ctx, row)
}

// appTokenKey marks the context of a client_credentials grant's response
// (handleToken): fosite hands the storage a sanitized request, without
// its grant type.
type appTokenKey struct{}

// appToken says whether a record is an app's own opaque access token
// (client_credentials): the one token whose commit is relaxed. Lost in a
// database crash, it is a token nobody knows any more: refused wherever it
// is shown, and the app asks for another, with no person involved and
// nothing single-use spent. Not waiting for the flush is the grant's
// only commit saved (README: "An app's token commits without waiting";
// about a tenth more tokens per second at c = 64). Tokens for a person
// (code, refresh, device, exchange) are written durably, and so is an RFC
// 9068 JWT, which verifies without the server: its record is what a
// revocation finds.
func appToken(ctx context.Context, kind string, r fosite.Requester) bool {
	if app, _ := ctx.Value(appTokenKey{}).(bool); !app || kind != models.KindAccessToken {
		return false
	}
	ss, ok := r.GetSession().(*Session)
	return ok && !ss.JWTAccess
}

// encodeRecord writes sr into row's data.
func encodeRecord(row *models.OAuth2Request, sr *storedRequest) error {
	data, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	row.Data = string(data)
	return nil
}

// batchKey marks a transaction begun by BeginTX. The records created in
// it are held and written together (one multi-row INSERT) before the next
// statement the adapter runs in it, or at Commit: fosite creates a code's
// code, OpenID Connect and PKCE records, and a token pair, one by one.
type batchKey struct{}

type batch struct {
	rows []heldRecord
	// held is Hold's batch: outside any transaction, for records only.
	held bool
	// deferred is a transaction begun under withDeferredTx: none is begun
	// in the database until a statement needs one (tx, then its context).
	// Until then a code spent in it waits in spend, and Commit writes the
	// spend and the records in one statement (store.RedeemOAuth2Request).
	deferred bool
	tx       context.Context
	spend    *memoEntry
}

// heldRecord is a record created in a batch, its data encoded when the
// batch is written (take), so later records can still join it.
type heldRecord struct {
	row *models.OAuth2Request
	sr  *storedRequest
}

// codeOf is the held authorization code's record that a PKCE or OpenID
// Connect record of the same request under the same signature joins; nil
// for every other record (they are rows of their own, as is a record
// whose code is not in the batch).
func (b *batch) codeOf(kind string, row *models.OAuth2Request) *heldRecord {
	if !heldByCode(kind) {
		return nil
	}
	for i := range b.rows {
		h := &b.rows[i]
		if h.row.Kind == models.KindAuthorizeCode && h.row.Signature == row.Signature && h.row.RequestID == row.RequestID {
			if _, dup := h.sr.Also[kind]; dup {
				return nil
			}
			return h
		}
	}
	return nil
}

// take encodes the held records and hands them over, emptying the batch.
func (b *batch) take() ([]*models.OAuth2Request, error) {
	held := b.rows
	b.rows = nil
	rows := make([]*models.OAuth2Request, len(held))
	for i, h := range held {
		if err := encodeRecord(h.row, h.sr); err != nil {
			return nil, err
		}
		rows[i] = h.row
	}
	return rows, nil
}

// deferredTxKey marks a context whose BeginTX may defer the transaction.
type deferredTxKey struct{}

// withDeferredTx lets fosite's transactions begun under ctx wait for their
// first statement. The code exchange's is a spend of the code and the new
// token pair: one statement instead of BEGIN, two and COMMIT. Only the
// grants whose handlers reach the database through this adapter alone get
// it: a handler writing through the store with a deferred transaction's
// context would write outside it.
func withDeferredTx(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferredTxKey{}, true)
}

// Hold returns a context in which the records fosite creates are held,
// not written, for the caller to take (Held) and write with the rest of
// its step; no statement may run in it.
func (s *Storage) Hold(ctx context.Context) context.Context {
	return context.WithValue(ctx, batchKey{}, &batch{held: true})
}

// Held takes the records created in Hold's context.
func (s *Storage) Held(ctx context.Context) ([]*models.OAuth2Request, error) {
	b, ok := ctx.Value(batchKey{}).(*batch)
	if !ok {
		return nil, nil
	}
	return b.take()
}

// prepare readies ctx's transaction for a statement and returns the
// context to run it with: a deferred transaction is begun (with the code
// it spent), and the held records are written first, so statements keep
// their order. Every method that runs a statement prepares first.
func (s *Storage) prepare(ctx context.Context) (context.Context, error) {
	b, ok := ctx.Value(batchKey{}).(*batch)
	if !ok {
		return ctx, nil
	}
	if b.held {
		return ctx, errors.New("oidc storage: a statement where records are only held")
	}
	if b.deferred {
		if b.tx == nil {
			tx, err := s.st.BeginTx(ctx)
			if err != nil {
				return ctx, err
			}
			b.tx = tx
			if sp := b.spend; sp != nil {
				b.spend = nil
				if err := s.deactivateCode(tx, sp.signature); err != nil {
					return ctx, err
				}
			}
		}
		ctx = b.tx
	}
	return ctx, s.flush(ctx)
}

// flush writes the records held in ctx's transaction.
func (s *Storage) flush(ctx context.Context) error {
	b, ok := ctx.Value(batchKey{}).(*batch)
	if !ok || len(b.rows) == 0 {
		return nil
	}
	rows, err := b.take()
	if err != nil {
		return err
	}
	return s.st.CreateOAuth2Requests(ctx, rows)
}

// memoKey marks a token request's context (withRecordMemo).
type memoKey struct{}

// recordMemo keeps the records one token request has read: fosite's code
// grant reads the code twice and the PKCE and OpenID Connect records under
// the same signature; one SELECT fetches all three. A memo lives for one
// request; what it holds is what the request read, and the single-use
// gates (the conditional updates) still decide.
type recordMemo struct {
	rows map[memoEntry]*models.OAuth2Request
	// decoded keeps each record's decoded data: a code's record is read
	// as the code, its PKCE and its OpenID Connect records.
	decoded map[*models.OAuth2Request]*storedRequest
	// fetched: the signatures whose code records were all read at once,
	// so a kind missing from rows is missing from the database.
	fetched map[string]bool
	// kept: the signatures whose code records came from this replica's
	// memory (code_keep.go), with the code's request id.
	kept map[string]string
}

type memoEntry struct{ kind, signature string }

// withRecordMemo gives a token request's context a memo of the records
// it reads.
func withRecordMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &recordMemo{rows: map[memoEntry]*models.OAuth2Request{}, fetched: map[string]bool{},
		decoded: map[*models.OAuth2Request]*storedRequest{}, kept: map[string]string{}})
}

// codeKinds are the records stored under an authorization code's signature.
var codeKinds = []string{models.KindAuthorizeCode, models.KindPKCE, models.KindOIDC}

// record reads the record of kind under signature, through ctx's memo
// when there is one.
func (s *Storage) record(ctx context.Context, kind, signature string) (*models.OAuth2Request, error) {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return nil, err
	}
	m, ok := ctx.Value(memoKey{}).(*recordMemo)
	if !ok {
		r, err := s.st.GetOAuth2Request(ctx, kind, signature)
		if errors.Is(err, models.ErrNotFound) && heldByCode(kind) {
			return s.st.GetOAuth2Request(ctx, models.KindAuthorizeCode, signature)
		}
		return r, err
	}
	key := memoEntry{kind, signature}
	if r, ok := m.rows[key]; ok {
		return r, nil
	}
	if !slices.Contains(codeKinds, kind) {
		r, err := s.st.GetOAuth2Request(ctx, kind, signature)
		if err == nil {
			m.rows[key] = r
		}
		return r, err
	}
	if !m.fetched[signature] {
		rows, kept := s.takeKept(signature)
		if kept {
			for i := range rows {
				if rows[i].Kind == models.KindAuthorizeCode {
					m.kept[signature] = rows[i].RequestID
				}
			}
		} else if rows, err = s.st.GetOAuth2RequestsBySignature(ctx, signature, codeKinds...); err != nil {
			return nil, err
		}
		m.fetched[signature] = true
		for i := range rows {
			m.rows[memoEntry{rows[i].Kind, signature}] = &rows[i]
		}
		if code, ok := m.rows[memoEntry{models.KindAuthorizeCode, signature}]; ok {
			// The code's record may hold the others (storedRequest.Also);
			// it stays theirs when the request spends the code.
			for _, k := range codeKinds {
				if _, ok := m.rows[memoEntry{k, signature}]; !ok && heldByCode(k) {
					m.rows[memoEntry{k, signature}] = code
				}
			}
		}
		if r, ok := m.rows[key]; ok {
			return r, nil
		}
	}
	return nil, fmt.Errorf("get oauth2 request: %w", models.ErrNotFound)
}

// heldByCode reports whether a record of kind may be held by its code's
// record (storedRequest.Also) rather than be a row of its own.
func heldByCode(kind string) bool {
	return kind == models.KindPKCE || kind == models.KindOIDC
}

// forget drops a record from ctx's memo once the request changed it.
func forget(ctx context.Context, kind, signature string) {
	if m, ok := ctx.Value(memoKey{}).(*recordMemo); ok {
		delete(m.rows, memoEntry{kind, signature})
		delete(m.fetched, signature)
	}
}

// expiry is when a record may be garbage-collected; fosite itself checks
// token expiry from the session.
func expiry(kind string, sess fosite.Session) time.Time {
	tt := fosite.AuthorizeCode
	switch kind {
	case models.KindAccessToken:
		tt = fosite.AccessToken
	case models.KindRefreshToken:
		tt = fosite.RefreshToken
	case models.KindPAR:
		tt = fosite.PushedAuthorizeRequestContext
	}
	if sess != nil {
		if t := sess.GetExpiresAt(tt); !t.IsZero() {
			return t.UTC()
		}
	}
	// No lifetime known (e.g. refresh tokens without expiry): keep a year.
	return clock.Now().UTC().Add(365 * 24 * time.Hour)
}

func (s *Storage) get(ctx context.Context, kind, signature string, session fosite.Session) (*fosite.Request, bool, error) {
	req, row, err := s.getRow(ctx, kind, signature, session)
	if err != nil {
		return nil, false, err
	}
	return req, row.Active, nil
}

// getRow is get with the stored record.
func (s *Storage) getRow(ctx context.Context, kind, signature string, session fosite.Session) (*fosite.Request, *models.OAuth2Request, error) {
	if session == nil {
		session = NewSession()
	}
	var (
		sr     *storedRequest
		row    *models.OAuth2Request
		cached bool
		err    error
	)
	if ss, ok := session.(*Session); ok && kind == models.KindAccessToken {
		sr, row, cached, err = s.cachedAccess(ctx, signature, ss)
	}
	if !cached && err == nil {
		row, err = s.record(ctx, kind, signature)
		if err == nil {
			sr, err = decodeRecord(ctx, row, session)
			if err == nil {
				s.remember(kind, row, sr)
			}
		}
		if err == nil && heldByCode(kind) && row.Kind == models.KindAuthorizeCode {
			// Read from the code's record: the record is there if the
			// code holds it, with the form it was given.
			form, ok := sr.Also[kind]
			if !ok {
				err = models.ErrNotFound
			}
			sr.Form = form
		}
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	sr.ID, sr.ClientID = cmp.Or(sr.ID, row.RequestID), cmp.Or(sr.ClientID, row.ClientID)
	client, err := s.clients.GetClient(ctx, sr.ClientID)
	if errors.Is(err, models.ErrUnavailable) {
		return nil, nil, err
	}
	if err != nil {
		// A deleted or disabled client's grants are dead.
		return nil, nil, fosite.ErrNotFound
	}
	req := &fosite.Request{
		ID:                sr.ID,
		RequestedAt:       sr.RequestedAt,
		Client:            client,
		RequestedScope:    sr.RequestedScope,
		GrantedScope:      sr.GrantedScope,
		RequestedAudience: sr.RequestedAudience,
		GrantedAudience:   sr.GrantedAudience,
		Form:              sr.Form,
		Session:           session,
	}
	if req.Form == nil {
		req.Form = url.Values{}
	}
	return req, row, nil
}

// GetClient implements fosite.ClientManager.
func (s *Storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	noteClient(ctx, id)
	return s.clients.GetClient(ctx, id)
}

// ClientAssertionJWTValid implements fosite.ClientManager: an error when
// the jti was seen (replay, RFC 7523 §3 item 7).
func (s *Storage) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	used, err := s.st.JTIUsed(ctx, jti)
	if err != nil {
		return err
	}
	if used {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT implements fosite.ClientManager.
func (s *Storage) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	// Remembered for the leeway past its expiry too: an assertion is
	// accepted that long after its exp (skew.go), so it must stay spent.
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	err = s.st.MarkJTIUsed(ctx, jti, exp.Add(s.assertionLeeway))
	if errors.Is(err, models.ErrAlreadyExists) {
		return fosite.ErrJTIKnown
	}
	return err
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *Storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, models.KindAuthorizeCode, code, r, "")
}

// GetAuthorizeCodeSession returns the request, and with it
// fosite.ErrInvalidatedAuthorizeCode once the code was used: that is how
// fosite learns to revoke the tokens issued from a replayed code.
func (s *Storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.get(ctx, models.KindAuthorizeCode, code, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks a code used. It is a conditional
// update: of two racing exchanges exactly one succeeds. In a deferred
// transaction with nothing before it, it waits to be written with the
// token pair at Commit.
func (s *Storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	forget(ctx, models.KindAuthorizeCode, code)
	if b, ok := ctx.Value(batchKey{}).(*batch); ok && b.deferred && b.tx == nil && b.spend == nil && len(b.rows) == 0 {
		b.spend = &memoEntry{models.KindAuthorizeCode, code}
		return nil
	}
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	return s.deactivateCode(ctx, code)
}

func (s *Storage) deactivateCode(ctx context.Context, code string) error {
	s.forgetKept(code)
	return spentCode(s.st.DeactivateOAuth2Request(ctx, models.KindAuthorizeCode, code))
}

// spentCode says a code's lost spend the way fosite expects it.
func spentCode(err error) error {
	if errors.Is(err, models.ErrConsumed) {
		return fmt.Errorf("%w: %w", fosite.ErrInvalidatedAuthorizeCode, err)
	}
	return err
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Storage) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, models.KindAccessToken, signature, r, "")
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Storage) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, active, err := s.get(ctx, models.KindAccessToken, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return req, fosite.ErrInactiveToken
	}
	if rv, ok := ctx.Value(revocationKey{}).(*revocation); ok && exchanged(req) {
		rv.exchangedSig = signature
	}
	return req, nil
}

// revocationKey marks a revocation request's context (handleRevoke).
type revocationKey struct{}

// revocation remembers, during one revocation request, that the token
// presented is an exchanged access token (exchange.go). It shares its
// subject token's grant id, so fosite's revocation of "the grant" would
// also end the user's own tokens: revoking it revokes it alone.
type revocation struct{ exchangedSig string }

// withRevocation marks ctx as a revocation request's.
func withRevocation(ctx context.Context) context.Context {
	return context.WithValue(ctx, revocationKey{}, &revocation{})
}

// exchangedRevocation is the signature of the exchanged access token
// being revoked in ctx, or "".
func exchangedRevocation(ctx context.Context) string {
	if rv, ok := ctx.Value(revocationKey{}).(*revocation); ok {
		return rv.exchangedSig
	}
	return ""
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *Storage) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	forget(ctx, models.KindAccessToken, signature)
	return s.st.DeleteOAuth2Request(ctx, models.KindAccessToken, signature)
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *Storage) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	return s.create(ctx, models.KindRefreshToken, signature, r, accessSignature)
}

// GetRefreshTokenSession returns fosite.ErrInactiveToken (with the
// request) for a rotated-out token, which fosite treats as reuse and
// answers by revoking the family (RFC 9700 §4.14.2). The one exception is
// the reuse interval (see inReuseInterval): a token rotated moments ago,
// presented again by its own client in a refresh grant, is returned as
// valid, so fosite issues a fresh pair and revokes nothing.
func (s *Storage) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, row, err := s.getRow(ctx, models.KindRefreshToken, signature, session)
	if err != nil {
		return nil, err
	}
	if row.Active {
		return req, nil
	}
	ok, err := s.inReuseInterval(ctx, row)
	if err != nil {
		return nil, err
	}
	if ok {
		return req, nil
	}
	return req, fosite.ErrInactiveToken
}

// inReuseInterval reports whether an inactive refresh token may still be
// exchanged: two concurrent refreshes of one token (two tabs, a retry after
// a timeout, two replicas) must not make the loser look like a thief and
// kill the winner's fresh pair. It holds only when all of these do:
//   - the interval is on and the token was deactivated less than it ago;
//   - this is a refresh grant by the client the token was issued to (an
//     introspection or revocation, or another client, sees it as spent);
//   - the family is alive: a successor of the same request id is active,
//     so the token was rotated, not revoked (a revocation, a detected
//     reuse or a reused code leaves no active refresh token).
func (s *Storage) inReuseInterval(ctx context.Context, row *models.OAuth2Request) (bool, error) {
	if s.reuseInterval <= 0 || row.DeactivatedAt == nil {
		return false, nil
	}
	if client, ok := refreshingClient(ctx); !ok || client != row.ClientID {
		return false, nil
	}
	// "Less than the interval ago" by the clock that stamped the rotation
	// (the database's), not this replica's, which may be minutes apart.
	ctx, err := s.prepare(ctx)
	if err != nil {
		return false, err
	}
	if ok, err := s.st.DeactivatedWithin(ctx, models.KindRefreshToken, row.Signature, s.reuseInterval); err != nil || !ok {
		return false, err
	}
	return s.st.HasActiveOAuth2Request(ctx, models.KindRefreshToken, row.RequestID)
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *Storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	forget(ctx, models.KindRefreshToken, signature)
	return s.st.DeleteOAuth2Request(ctx, models.KindRefreshToken, signature)
}

// RotateRefreshToken retires the presented refresh token (kept, inactive,
// so a later reuse is recognised and revokes the family) and the access
// tokens of the grant. The conditional update makes the rotation happen
// once even under concurrent requests. A request that loses it to a
// concurrent refresh, or presents a token rotated within the reuse
// interval, rotates nothing and deletes nothing: the winner's refresh and
// access tokens stay valid beside the pair this request gets.
func (s *Storage) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	forget(ctx, models.KindRefreshToken, signature)
	err = s.st.DeactivateOAuth2Request(ctx, models.KindRefreshToken, signature)
	if errors.Is(err, models.ErrConsumed) || errors.Is(err, models.ErrNotFound) {
		row, gerr := s.st.GetOAuth2Request(ctx, models.KindRefreshToken, signature)
		if gerr == nil && row.RequestID == requestID {
			ok, ierr := s.inReuseInterval(ctx, row)
			if ierr != nil {
				return ierr
			}
			if ok {
				return nil
			}
		} else if errors.Is(gerr, models.ErrUnavailable) {
			return gerr
		}
		return fmt.Errorf("%w: %w", fosite.ErrSerializationFailure, err)
	}
	if err != nil {
		return err
	}
	return s.st.DeleteOAuth2RequestsByRequestID(ctx, models.KindAccessToken, requestID)
}

// RevokeRefreshToken deactivates every refresh token of a grant (its whole
// rotation family shares the request id).
func (s *Storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	if exchangedRevocation(ctx) != "" {
		return nil // an exchanged token's grant is its subject token's
	}
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	return s.st.DeactivateOAuth2RequestsByRequestID(ctx, models.KindRefreshToken, requestID)
}

// RevokeAccessToken deletes every access token of a grant.
func (s *Storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	ctx, err := s.prepare(ctx)
	if err != nil {
		return err
	}
	if sig := exchangedRevocation(ctx); sig != "" {
		return s.st.DeleteOAuth2Request(ctx, models.KindAccessToken, sig)
	}
	return s.st.DeleteOAuth2RequestsByRequestID(ctx, models.KindAccessToken, requestID)
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
// fosite passes the code itself; the record is stored under its
// signature, beside the code's and PKCE's records.
func (s *Storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, models.KindOIDC, s.oidcSignature(ctx, code), r, "")
}

// oidcSignature is the key of a code's OpenID Connect record.
func (s *Storage) oidcSignature(ctx context.Context, code string) string {
	if s.codeSignature == nil {
		return code
	}
	return s.codeSignature(ctx, code)
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *Storage) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	sig := s.oidcSignature(ctx, code)
	req, _, err := s.get(ctx, models.KindOIDC, sig, r.GetSession())
	if errors.Is(err, fosite.ErrNotFound) && sig != code && s.legacyOIDC(ctx, sig) {
		// Stored before records were kept under the signature: under
		// the code itself (codes live minutes; remove after a release).
		req, _, err = s.get(ctx, models.KindOIDC, code, r.GetSession())
	}
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, openid.ErrNoSessionFound
	}
	return req, err
}

// legacyOIDC reports whether the code under sig asked for openid, so an
// OpenID Connect record under the code itself may exist. Without openid
// there is no record, and no second look.
func (s *Storage) legacyOIDC(ctx context.Context, sig string) bool {
	row, err := s.record(ctx, models.KindAuthorizeCode, sig)
	if err != nil {
		return false
	}
	var sr storedRequest
	if err := json.Unmarshal([]byte(row.Data), &sr); err != nil {
		return true
	}
	return slices.Contains(sr.GrantedScope, "openid")
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage
// by keeping the record, as DeletePKCERequestSession does: the code it
// belongs to is single use (InvalidateAuthorizeCodeSession, committed
// before fosite gets here), so the record can issue nothing more, and it
// expires with the code for the janitor to sweep. That spares the
// exchange a write and a commit of its own.
func (s *Storage) DeleteOpenIDConnectSession(context.Context, string) error {
	return nil
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *Storage) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, models.KindPKCE, signature, r, "")
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *Storage) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	req, _, err := s.get(ctx, models.KindPKCE, signature, session)
	return req, err
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage by keeping
// the record: fosite calls it before it checks the code_verifier, so a
// deletion would let one failed attempt strip the code of its PKCE binding
// (a retry without code_verifier would then pass for a confidential client,
// and the rightful client would be locked out). The code itself is single
// use (InvalidateAuthorizeCodeSession); the record expires with the code
// and the janitor sweeps it.
func (s *Storage) DeletePKCERequestSession(context.Context, string) error {
	return nil
}

// BeginTX implements storage.Transactional. The records created in the
// transaction are written together (batchKey); under withDeferredTx the
// transaction waits for its first statement.
func (s *Storage) BeginTX(ctx context.Context) (context.Context, error) {
	if d, _ := ctx.Value(deferredTxKey{}).(bool); d {
		return context.WithValue(ctx, batchKey{}, &batch{deferred: true}), nil
	}
	ctx, err := s.st.BeginTx(ctx)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, batchKey{}, &batch{}), nil
}

// Commit implements storage.Transactional: the held records, then the
// commit. A failed write rolls the transaction back. A deferred
// transaction that ran no statement writes its spent code and its records
// in one statement (or its records alone).
func (s *Storage) Commit(ctx context.Context) error {
	if b, ok := ctx.Value(batchKey{}).(*batch); ok && b.deferred {
		if b.tx == nil {
			sp := b.spend
			b.spend = nil
			rows, err := b.take()
			if err != nil {
				return err
			}
			if sp != nil {
				s.forgetKept(sp.signature)
				return spentCode(s.replayedKept(ctx, sp.signature, s.st.RedeemOAuth2Request(ctx, sp.kind, sp.signature, rows)))
			}
			return s.st.CreateOAuth2Requests(ctx, rows)
		}
		ctx = b.tx
	}
	if err := s.flush(ctx); err != nil {
		if rerr := s.st.Rollback(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return s.st.Commit(ctx)
}

// Rollback implements storage.Transactional; held records are dropped.
func (s *Storage) Rollback(ctx context.Context) error {
	b, ok := ctx.Value(batchKey{}).(*batch)
	if ok {
		b.rows, b.spend = nil, nil
		if b.deferred {
			if b.tx == nil {
				return nil
			}
			ctx = b.tx
		}
	}
	return s.st.Rollback(ctx)
}
