package oidc

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"gorm.io/gorm"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// anyClient is a client getter that knows every client.
type anyClient struct{}

func (anyClient) GetClient(_ context.Context, id string) (fosite.Client, error) {
	return &fosite.DefaultClient{ID: id}, nil
}

// recordReads keeps the SELECTs a store runs on oauth2_requests.
type recordReads struct {
	mu sync.Mutex
	qs []string
}

func (r *recordReads) Name() string { return "sesame:test_record_reads" }

func (r *recordReads) Initialize(db *gorm.DB) error {
	keep := func(db *gorm.DB) {
		if q := db.Statement.SQL.String(); strings.Contains(q, "oauth2_requests") {
			r.mu.Lock()
			r.qs = append(r.qs, q)
			r.mu.Unlock()
		}
	}
	if err := db.Callback().Query().After("gorm:query").Register("sesame:test_record_reads", keep); err != nil {
		return err
	}
	return db.Callback().Row().After("gorm:row").Register("sesame:test_record_reads", keep)
}

// take returns the SELECTs since the last take; whole tells, for each,
// whether it read the data column.
func (r *recordReads) take() (whole []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.qs {
		sel, _, _ := strings.Cut(q, " FROM ")
		whole = append(whole, sel == "SELECT *" || strings.Contains(sel, ".data") || strings.Contains(sel, " data"))
	}
	r.qs = nil
	return whole
}

// storageWatched is the adapter over st, with the SELECTs it runs on
// oauth2_requests kept.
func storageWatched(t *testing.T, st *store.Store) (*Storage, *recordReads) {
	t.Helper()
	reads := &recordReads{}
	if err := st.Use(reads); err != nil {
		t.Fatal(err)
	}
	return NewStorage(st, anyClient{}, 0), reads
}

func accessRequest(id string) *fosite.Request {
	return &fosite.Request{
		ID: id, RequestedAt: time.Now().UTC().Truncate(time.Second),
		Client:         &fosite.DefaultClient{ID: "client-1"},
		RequestedScope: fosite.Arguments{"openid", "read"}, GrantedScope: fosite.Arguments{"openid", "read"},
		GrantedAudience: fosite.Arguments{"https://api.example.com"},
		Form:            url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {"https://app.example.com/cb"}},
		Session:         codecSession(),
	}
}

// An access token read again is read through the decoded-request cache:
// the database is asked for the record's head only, so a revocation or a
// deletion is seen at once; what a reader changes in what it was handed
// never reaches the cache; token requests read records whole.
func TestAccessTokenDecodedCache(t *testing.T) {
	storetest.EachDialect(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		s, reads := storageWatched(t, st)
		if err := s.CreateAccessTokenSession(ctx, "sig-1", accessRequest("req-1")); err != nil {
			t.Fatal(err)
		}
		read := func(sig string, wantWhole bool) (fosite.Requester, error) {
			t.Helper()
			r, err := s.GetAccessTokenSession(ctx, sig, NewSession())
			if got := reads.take(); len(got) != 1 || got[0] != wantWhole {
				t.Fatalf("read of %s: SELECTs reading data %v, want one, whole=%v", sig, got, wantWhole)
			}
			return r, err
		}
		first, err := read("sig-1", true)
		if err != nil {
			t.Fatal(err)
		}
		second, err := read("sig-1", false)
		if err != nil {
			t.Fatal(err)
		}
		want := dump(t, normalized(first.GetSession().(*Session)))
		if got := dump(t, normalized(second.GetSession().(*Session))); got != want {
			t.Fatalf("cached read:\n got %s\nwant %s", got, want)
		}
		for _, r := range []fosite.Requester{first, second} {
			if r.GetID() != "req-1" || r.GetClient().GetID() != "client-1" || strings.Join(r.GetGrantedScopes(), " ") != "openid read" ||
				r.GetRequestForm().Get("redirect_uri") != "https://app.example.com/cb" {
				t.Fatalf("request read back: %+v", r)
			}
		}

		// What a reader changes stays its own.
		ss := second.GetSession().(*Session)
		ss.Ext["groups"].([]any)[0] = "changed"
		ss.Claims.Extra["groups"].([]any)[1] = "changed"
		ss.Claims.AuthenticationMethodsReferences[0] = "changed"
		ss.AccessAud[0], ss.Act.Act.Sub = "changed", "changed"
		second.(*fosite.Request).GrantedScope[0] = "changed"
		second.GetRequestForm()["redirect_uri"][0] = "changed"
		third, err := read("sig-1", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := dump(t, normalized(third.GetSession().(*Session))); got != want {
			t.Fatalf("after a reader's changes:\n got %s\nwant %s", got, want)
		}
		if third.GetGrantedScopes()[0] != "openid" || third.GetRequestForm().Get("redirect_uri") != "https://app.example.com/cb" {
			t.Fatalf("after a reader's changes: %+v", third)
		}

		// A token request reads whole (its memo pins its statements).
		if _, err := s.GetAccessTokenSession(withRecordMemo(ctx), "sig-1", NewSession()); err != nil {
			t.Fatal(err)
		}
		if got := reads.take(); len(got) != 1 || !got[0] {
			t.Fatalf("token request's read: %v, want one whole", got)
		}

		// A revocation is seen by the next (cached) read.
		if err := st.DeactivateOAuth2Request(ctx, models.KindAccessToken, "sig-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := read("sig-1", false); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Fatalf("revoked token: %v, want inactive", err)
		}

		// The head is the record less its data, on both dialects.
		whole, err := st.GetOAuth2Request(ctx, models.KindAccessToken, "sig-1")
		if err != nil {
			t.Fatal(err)
		}
		head, err := st.GetOAuth2RequestHead(ctx, models.KindAccessToken, "sig-1")
		if err != nil {
			t.Fatal(err)
		}
		reads.take()
		if whole.DeactivatedAt == nil || head.DeactivatedAt == nil || !whole.DeactivatedAt.Equal(*head.DeactivatedAt) ||
			!whole.CreatedAt.Equal(head.CreatedAt) || !whole.ExpiresAt.Equal(head.ExpiresAt) || !whole.RequestedAt.Equal(head.RequestedAt) {
			t.Fatalf("head's times differ from the record's:\nhead  %+v\nwhole %+v", head, whole)
		}
		whole.Data, whole.CreatedAt, whole.ExpiresAt, whole.RequestedAt, whole.DeactivatedAt = "", head.CreatedAt, head.ExpiresAt, head.RequestedAt, head.DeactivatedAt
		if *whole != *head {
			t.Fatalf("head:\n got %+v\nwant %+v", head, whole)
		}
		if _, err := st.GetOAuth2RequestHead(ctx, models.KindAccessToken, "no-such"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("head of a missing record: %v, want not found", err)
		}
		reads.take()

		// A deleted record is gone, and leaves the cache.
		if err := st.DeleteOAuth2Request(ctx, models.KindAccessToken, "sig-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := read("sig-1", false); !errors.Is(err, fosite.ErrNotFound) {
			t.Fatalf("deleted token: %v, want not found", err)
		}
		if _, ok := s.decoded.Get("sig-1"); ok {
			t.Fatal("a deleted record stayed cached")
		}

		// A record written again under a cached signature with another
		// request is read whole, and its own data is what is handed out.
		if err := s.CreateAccessTokenSession(ctx, "sig-2", accessRequest("req-2")); err != nil {
			t.Fatal(err)
		}
		if _, err := read("sig-2", true); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteOAuth2Request(ctx, models.KindAccessToken, "sig-2"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccessTokenSession(ctx, "sig-2", accessRequest("req-3")); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetAccessTokenSession(ctx, "sig-2", NewSession())
		if err != nil || r.GetID() != "req-3" {
			t.Fatalf("rewritten record: %v, %v; want req-3", r, err)
		}
		if got := reads.take(); len(got) != 2 || got[0] || !got[1] {
			t.Fatalf("rewritten record's reads: %v, want a head then a whole read", got)
		}
	})
}
