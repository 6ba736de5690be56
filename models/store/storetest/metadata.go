package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// metadataTests: the FIDO metadata row is shared by the replicas. One of
// them claims each fetch round (compare-and-swap on Attempts); a BLOB is
// replaced only by a higher serial and announced; an older one is refused
// (no rollback of statuses); credentials of a model reported compromised
// are flagged once each and cleared when the status is lifted; a
// suspension is recorded once.
var metadataTests = []subtest{
	{"ClaimOneReplicaPerRound", func(t *testing.T, s *store.Store) {
		id := newID("mds")
		var won atomic.Int32
		var wg sync.WaitGroup
		for range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimFIDOMetadataFetch(t.Context(), id, 0, store.Now())
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d replicas claimed the first round, want 1", won.Load())
		}
		st, err := s.FIDOMetadataState(t.Context(), id)
		must(t, err)
		if st.Attempts != 1 || st.AttemptAt == nil || st.Blob != "" {
			t.Fatalf("state after a claim: %+v", st)
		}
		ok, err := s.ClaimFIDOMetadataFetch(t.Context(), id, 0, store.Now())
		must(t, err)
		if ok {
			t.Fatal("a stale read claimed a second round")
		}
		ok, err = s.ClaimFIDOMetadataFetch(t.Context(), id, 1, store.Now())
		must(t, err)
		if !ok {
			t.Fatal("the next round was not claimed")
		}
	}},
	{"SaveOnlyForward", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id := newID("mds")
		_, err := s.GetFIDOMetadata(ctx, id)
		wantErr(t, "no row yet", err, models.ErrNotFound)
		_, err = s.ClaimFIDOMetadataFetch(ctx, id, 0, store.Now())
		must(t, err)
		var heard []store.Change
		var mu sync.Mutex
		stop := s.Changes().Subscribe(func(c store.Change) {
			if c.Kind == store.ChangeFIDOMetadata {
				mu.Lock()
				heard = append(heard, c)
				mu.Unlock()
			}
		})
		defer stop()
		if s.Dialect() == "postgres" {
			// The listener connects in the background; announcements
			// before it LISTENs are lost (and followed by a resync).
			WaitFor(t, func() bool { return s.Changes().ListenerPID() != 0 })
		}
		next, t1 := at(30*24*time.Hour), at(0)
		replaced, err := s.SaveFIDOMetadata(ctx, &models.FIDOMetadata{ID: id, Source: "http://mds.test/", Blob: "blob-5", Serial: 5, NextUpdate: &next, CheckedAt: &t1})
		must(t, err)
		if !replaced {
			t.Fatal("the first BLOB did not replace the empty row")
		}
		t2 := at(time.Hour)
		replaced, err = s.SaveFIDOMetadata(ctx, &models.FIDOMetadata{ID: id, Blob: "blob-5", Serial: 5, NextUpdate: &next, CheckedAt: &t2})
		must(t, err)
		if replaced {
			t.Fatal("the same serial replaced the BLOB")
		}
		t3 := at(2 * time.Hour)
		_, err = s.SaveFIDOMetadata(ctx, &models.FIDOMetadata{ID: id, Blob: "blob-4", Serial: 4, NextUpdate: &next, CheckedAt: &t3})
		wantErr(t, "older serial", err, models.ErrConsumed)
		must(t, s.RecordFIDOMetadataError(ctx, id, "bad signature", t3))
		got, err := s.GetFIDOMetadata(ctx, id)
		must(t, err)
		if got.Blob != "blob-5" || got.Serial != 5 || !got.FetchedAt.Equal(t1) || !got.CheckedAt.Equal(t2) || !got.NextUpdate.Equal(next) ||
			got.LastError != "bad signature" || !got.LastErrorAt.Equal(t3) || got.Source != "http://mds.test/" {
			t.Fatalf("stored: %+v", got)
		}
		st, err := s.FIDOMetadataState(ctx, id)
		must(t, err)
		if st.Blob != "" || st.Serial != 5 {
			t.Fatalf("state: %+v", st)
		}
		replaced, err = s.SaveFIDOMetadata(ctx, &models.FIDOMetadata{ID: id, Blob: "blob-6", Serial: 6, NextUpdate: &next, CheckedAt: &t3})
		must(t, err)
		if !replaced {
			t.Fatal("a higher serial did not replace the BLOB")
		}
		got, err = s.GetFIDOMetadata(ctx, id)
		must(t, err)
		if got.Blob != "blob-6" || got.LastError != "" || got.LastErrorAt != nil {
			t.Fatalf("after serial 6: %+v", got)
		}
		WaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(heard) == 2 })
	}},
	{"CompromisedModels", func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bad, good := "0a1b2c3d-0000-4000-8000-"+randHex(6), "0a1b2c3d-0000-4000-8000-"+randHex(6)
		u := createUser(t, s)
		mk := func(aaguid string) *models.WebAuthnCredential {
			c := &models.WebAuthnCredential{ID: newID("cred"), UserID: u.ID, Kind: models.CredentialPasskey, PublicKey: "pk", AAGUID: aaguid}
			must(t, s.CreateCredential(ctx, c))
			return c
		}
		b1, b2, g := mk(bad), mk(bad), mk(good)
		aaguids, err := s.CredentialAAGUIDs(ctx)
		must(t, err)
		if !contains(aaguids, bad) || !contains(aaguids, good) {
			t.Fatalf("models: %v", aaguids)
		}
		t1 := at(0)
		flagged, cleared, err := s.MarkCompromisedModels(ctx, map[string]string{bad: "REVOKED"}, t1)
		must(t, err)
		if ids(flagged) != b1.ID+","+b2.ID && ids(flagged) != b2.ID+","+b1.ID || len(cleared) != 0 {
			t.Fatalf("flagged %v cleared %v", ids(flagged), ids(cleared))
		}
		// Checking again changes nothing and reports nothing.
		flagged, cleared, err = s.MarkCompromisedModels(ctx, map[string]string{bad: "REVOKED"}, at(time.Minute))
		must(t, err)
		if len(flagged)+len(cleared) != 0 {
			t.Fatalf("second check reported %v / %v", ids(flagged), ids(cleared))
		}
		n, list, err := s.CompromisedCredentials(ctx, 10)
		must(t, err)
		if n != 2 || len(list) != 2 || list[0].CompromisedStatus != "REVOKED" || !list[0].CompromisedAt.Equal(t1) {
			t.Fatalf("compromised: %d %+v", n, list)
		}
		got, err := s.GetCredential(ctx, g.ID)
		must(t, err)
		if got.CompromisedStatus != "" {
			t.Fatalf("a good model's credential was flagged: %+v", got)
		}
		// A new status of the same model is a change, first seen kept.
		flagged, _, err = s.MarkCompromisedModels(ctx, map[string]string{bad: "ATTESTATION_KEY_COMPROMISE"}, at(2*time.Minute))
		must(t, err)
		if len(flagged) != 2 || flagged[0].CompromisedStatus != "ATTESTATION_KEY_COMPROMISE" || !flagged[0].CompromisedAt.Equal(t1) {
			t.Fatalf("status change: %+v", flagged)
		}
		suspended := at(3 * time.Minute)
		must(t, s.SuspendCredential(ctx, b1.ID, suspended))
		if f, sus, err := s.CompromisedCredentialCounts(ctx); err != nil || f != 2 || sus != 1 {
			t.Fatalf("counts: %d flagged, %d suspended, %v", f, sus, err)
		}
		wantErr(t, "second suspension", s.SuspendCredential(ctx, b1.ID, at(4*time.Minute)), models.ErrConsumed)
		// The status is lifted: cleared, the suspension stays.
		flagged, cleared, err = s.MarkCompromisedModels(ctx, map[string]string{}, at(5*time.Minute))
		must(t, err)
		if len(flagged) != 0 || len(cleared) != 2 {
			t.Fatalf("lifted: flagged %v cleared %v", ids(flagged), ids(cleared))
		}
		got, err = s.GetCredential(ctx, b1.ID)
		must(t, err)
		if got.CompromisedStatus != "" || got.CompromisedAt != nil || got.SuspendedAt == nil || !got.SuspendedAt.Equal(suspended) {
			t.Fatalf("after lifting: %+v", got)
		}
		n, _, err = s.CompromisedCredentials(ctx, 10)
		must(t, err)
		if n != 0 {
			t.Fatalf("%d still compromised", n)
		}
	}},
}

func ids(cs []models.WebAuthnCredential) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += ","
		}
		s += c.ID
	}
	return s
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// WaitFor polls cond for a few seconds (announcements arrive on the
// feed's goroutine).
func WaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
