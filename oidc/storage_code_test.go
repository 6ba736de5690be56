package oidc

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// codeRequest is an authorization request as fosite hands it to the code,
// PKCE and OpenID Connect storages, each sanitized to its own form.
func codeRequest(id string, pkce bool) (code, challenge, oidc *fosite.Request) {
	form := url.Values{
		"response_type": {"code"}, "client_id": {"client-1"}, "scope": {"openid profile"},
		"redirect_uri": {"https://app.example.com/cb"}, "state": {"st"}, "nonce": {"n-1"},
		"max_age": {"300"}, "prompt": {"login"},
	}
	if pkce {
		form.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		form.Set("code_challenge_method", "S256")
	}
	ar := &fosite.Request{
		ID: id, RequestedAt: time.Now().UTC().Truncate(time.Second),
		Client:         &fosite.DefaultClient{ID: "client-1"},
		RequestedScope: fosite.Arguments{"openid", "profile"}, GrantedScope: fosite.Arguments{"openid", "profile"},
		Form: form, Session: codecSession(),
	}
	// The lists fosite's handlers sanitize with (oauth2, pkce, openid).
	code = ar.Sanitize([]string{"redirect_uri"}).(*fosite.Request)
	challenge = ar.Sanitize([]string{"code_challenge", "code_challenge_method"}).(*fosite.Request)
	oidc = ar.Sanitize([]string{"grant_type", "max_age", "prompt", "acr_values", "id_token_hint", "nonce"}).(*fosite.Request)
	return code, challenge, oidc
}

// An authorization code's PKCE and OpenID Connect records are written
// with the code's, as one row, when they are created together (the
// resumed authorization holds them); each is read back with the form it
// was given, in the one SELECT a token request makes, and still after the
// request spent the code. A code without PKCE holds no PKCE record.
// Records written as rows of their own (before, or created apart) are
// read as they were.
func TestCodeRecordHoldsItsPKCEAndOpenIDRecords(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s, reads := storageWatched(t, st)

		rowsUnder := func(sig string) []string {
			t.Helper()
			rows, err := st.GetOAuth2RequestsBySignature(ctx, sig, codeKinds...)
			if err != nil {
				t.Fatal(err)
			}
			reads.take()
			var kinds []string
			for _, r := range rows {
				kinds = append(kinds, r.Kind)
			}
			return kinds
		}
		// create stores a code's records the way write says.
		create := func(sig string, pkce bool, write func(ctx context.Context, create func(context.Context) error) error) (code, challenge, oidc *fosite.Request) {
			t.Helper()
			code, challenge, oidc = codeRequest("req-"+sig, pkce)
			err := write(ctx, func(ctx context.Context) error {
				if err := s.CreateAuthorizeCodeSession(ctx, sig, code); err != nil {
					return err
				}
				if err := s.CreateOpenIDConnectSession(ctx, sig, oidc); err != nil {
					return err
				}
				if pkce {
					return s.CreatePKCERequestSession(ctx, sig, challenge)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return code, challenge, oidc
		}
		held := func(ctx context.Context, create func(context.Context) error) error {
			h := s.Hold(ctx)
			if err := create(h); err != nil {
				return err
			}
			rows, err := s.Held(h)
			if err != nil {
				return err
			}
			return st.CreateOAuth2Requests(ctx, rows)
		}
		inTx := func(ctx context.Context, create func(context.Context) error) error {
			tx, err := s.BeginTX(ctx)
			if err != nil {
				return err
			}
			if err := create(tx); err != nil {
				return errors.Join(err, s.Rollback(tx))
			}
			return s.Commit(tx)
		}
		apart := func(ctx context.Context, create func(context.Context) error) error { return create(ctx) }

		// check reads the three records as a token request does: one
		// SELECT, each record its own form, and the PKCE and OpenID
		// Connect records still there once the code is spent.
		check := func(sig string, code, challenge, oidc *fosite.Request) {
			t.Helper()
			memo := withRecordMemo(ctx)
			// The record is decoded once per token request; what a
			// reader changes in what it was handed stays its own.
			first, err := s.GetAuthorizeCodeSession(memo, sig, NewSession())
			if err != nil {
				t.Fatal(err)
			}
			first.GetRequestForm().Set("redirect_uri", "changed")
			first.(*fosite.Request).GrantedScope[0] = "changed"
			first.GetSession().(*Session).Claims.Nonce = "changed"
			sess := NewSession()
			gotCode, err := s.GetAuthorizeCodeSession(memo, sig, sess)
			if err != nil {
				t.Fatal(err)
			}
			gotPKCE, err := s.GetPKCERequestSession(memo, sig, sess)
			if challenge == nil {
				if !errors.Is(err, fosite.ErrNotFound) {
					t.Fatalf("PKCE record of a code without one: %v, want not found", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err := s.InvalidateAuthorizeCodeSession(memo, sig); err != nil {
				t.Fatal(err)
			}
			gotOIDC, err := s.GetOpenIDConnectSession(memo, sig, &fosite.Request{Session: sess})
			if err != nil {
				t.Fatal(err)
			}
			if got := reads.take(); len(got) != 1 || !got[0] {
				t.Fatalf("a token request's reads of the code's records: %v, want one whole SELECT", got)
			}
			for _, c := range []struct {
				name string
				got  fosite.Requester
				want *fosite.Request
			}{{"code", gotCode, code}, {"PKCE", gotPKCE, challenge}, {"OpenID Connect", gotOIDC, oidc}} {
				if c.want == nil {
					continue
				}
				if c.got.GetID() != c.want.GetID() || !reflect.DeepEqual(c.got.GetRequestForm(), c.want.GetRequestForm()) ||
					!reflect.DeepEqual(c.got.GetGrantedScopes(), c.want.GetGrantedScopes()) || !c.got.GetRequestedAt().Equal(c.want.GetRequestedAt()) {
					t.Errorf("%s record read back:\n got id %s form %v scopes %v\nwant id %s form %v scopes %v", c.name,
						c.got.GetID(), c.got.GetRequestForm(), c.got.GetGrantedScopes(), c.want.GetID(), c.want.GetRequestForm(), c.want.GetGrantedScopes())
				}
			}
			if got, want := dump(t, normalized(sess)), dump(t, normalized(code.GetSession().(*Session))); got != want {
				t.Errorf("session read back:\n got %s\nwant %s", got, want)
			}
			// Read outside a token request (no memo), too.
			if challenge != nil {
				r, err := s.GetPKCERequestSession(ctx, sig, NewSession())
				if err != nil || !reflect.DeepEqual(r.GetRequestForm(), challenge.GetRequestForm()) {
					t.Errorf("PKCE record without a memo: %v, %v", r, err)
				}
			} else if _, err := s.GetPKCERequestSession(ctx, sig, NewSession()); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("missing PKCE record without a memo: %v, want not found", err)
			}
			reads.take()
		}

		for _, c := range []struct {
			name  string
			write func(context.Context, func(context.Context) error) error
			pkce  bool
			rows  []string
		}{
			{"held", held, true, []string{models.KindAuthorizeCode}},
			{"held without PKCE", held, false, []string{models.KindAuthorizeCode}},
			{"in a transaction", inTx, true, []string{models.KindAuthorizeCode}},
			{"apart", apart, true, []string{models.KindAuthorizeCode, models.KindOIDC, models.KindPKCE}},
		} {
			t.Run(c.name, func(t *testing.T) {
				sig := "sig-" + c.name
				code, challenge, oidc := create(sig, c.pkce, c.write)
				if got := rowsUnder(sig); !sameKinds(got, c.rows) {
					t.Fatalf("rows under the code's signature: %v, want %v", got, c.rows)
				}
				if !c.pkce {
					challenge = nil
				}
				check(sig, code, challenge, oidc)
			})
		}

		// An OpenID Connect record the code does not hold is not found.
		h := s.Hold(ctx)
		code, _, _ := codeRequest("req-alone", false)
		if err := s.CreateAuthorizeCodeSession(h, "sig-alone", code); err != nil {
			t.Fatal(err)
		}
		rows, err := s.Held(h)
		if err != nil || len(rows) != 1 {
			t.Fatalf("held: %d rows, %v", len(rows), err)
		}
		if err := st.CreateOAuth2Requests(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetOpenIDConnectSession(withRecordMemo(ctx), "sig-alone", &fosite.Request{Session: NewSession()}); !errors.Is(err, openid.ErrNoSessionFound) {
			t.Fatalf("OpenID Connect record of a code without one: %v, want %v", err, openid.ErrNoSessionFound)
		}
	})
}

func sameKinds(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, k := range got {
		seen[k]++
	}
	for _, k := range want {
		if seen[k] == 0 {
			return false
		}
		seen[k]--
	}
	return true
}
