package passkey

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/authn/passkey/mdstest"
	"github.com/sesame-idp/sesame/internal/policy"
	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
	"github.com/sesame-idp/sesame/models/store/storetest"
)

// blobServer serves whatever BLOB the test sets, as the FIDO Alliance
// serves https://mds3.fidoalliance.org/, and counts the fetches.
type blobServer struct {
	*httptest.Server
	mu      sync.Mutex
	blob    []byte
	status  int
	fetches atomic.Int32
}

func newBlobServer(t *testing.T) *blobServer {
	b := &blobServer{status: http.StatusOK}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.fetches.Add(1)
		b.mu.Lock()
		defer b.mu.Unlock()
		w.WriteHeader(b.status)
		_, _ = w.Write(b.blob)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *blobServer) serve(blob []byte, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blob, b.status = blob, status
}

// TestMetadataSync: two replicas share one store. One claims each round
// and fetches the BLOB from the (local) metadata service; the other loads
// it from the database when the change feed announces it. A new BLOB
// reporting an enrolled model REVOKED flags its credentials (and, under
// suspend_compromised_passkeys, suspends them, audited once); a BLOB with
// a bad signature, an expired one, an older serial or an HTTP error keeps
// the last good copy and is reported; past nextUpdate plus the grace
// period the copy is reported stale (FIDO MDS 3.1 §3.1.7 nextUpdate).
func TestMetadataSync(t *testing.T) {
	const listed = "0a1b2c3d-0000-4000-8000-000000000001"
	signer, other := mdstest.NewSigner(t), mdstest.NewSigner(t)
	certified := mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}}
	revoked := mdstest.Entry{AAGUID: listed, Status: "REVOKED", Types: []string{"basic_surrogate"}}
	storetest.ForEachDialect(t, func(t *testing.T, dialect storetest.Dialect) {
		for _, suspend := range []bool{false, true} {
			t.Run(fmt.Sprintf("suspend=%v", suspend), func(t *testing.T) {
				st := dialect.Open(t)
				srv := newBlobServer(t)
				clk := storetest.NewClock()
				now := clk.Now()
				pol := &fixedPolicy{p: policy.Passkey{Attestation: "direct", SuspendCompromised: suspend}}
				replica := func() (*env, *Sync) {
					e := newEnv(t, st, func(c *Config) { c.MDSRoot, c.Policy, c.Now = signer.Root, pol, clk.Now })
					return e, NewSync(SyncConfig{URL: srv.URL, Refresh: time.Hour, StaleGrace: 24 * time.Hour}, e.svc, st)
				}
				e1, y1 := replica()
				e2, y2 := replica()
				ctx := context.Background()

				if s := e2.svc.MetadataStatus(ctx); s.State != MetadataMissing {
					t.Fatalf("before any fetch: %+v", s)
				}
				srv.serve(signer.BytesWith(t, mdstest.Header{No: 1, NextUpdate: now.Add(30 * 24 * time.Hour)}, certified), 200)
				if err := y1.Tick(ctx); err != nil {
					t.Fatalf("first round: %v", err)
				}
				// The second replica finds the round taken, and loads the
				// stored copy instead of fetching.
				if err := y2.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				if n := srv.fetches.Load(); n != 1 {
					t.Fatalf("%d fetches, want 1 (one replica per round)", n)
				}
				if s := e2.svc.MetadataStatus(ctx); s.State != MetadataCurrent || s.Serial != 1 || s.Source != srv.URL {
					t.Fatalf("replica 2 after the first round: %+v", s)
				}

				user := e1.createUser("mds-sync@example.test")
				d := newDevice(deviceOpts{aaguid: listed})
				_, cred := e1.register(user, nil, models.CredentialPasskey, d)

				// The second replica reloads within seconds of an
				// announcement (server wiring: the change feed → Notify).
				runCtx, stop := context.WithCancel(ctx)
				defer stop()
				unsub := st.Changes().Subscribe(func(c store.Change) {
					if c.Kind == store.ChangeFIDOMetadata || c.Kind == store.ChangeResync {
						y2.Notify()
					}
				})
				defer unsub()
				if st.Dialect() == "postgres" {
					waitUntil(t, func() bool { return st.Changes().ListenerPID() != 0 })
				}
				ran := make(chan struct{})
				go func() { y2.Run(runCtx); close(ran) }()

				srv.serve(signer.BytesWith(t, mdstest.Header{No: 2, NextUpdate: now.Add(10 * 24 * time.Hour)}, revoked), 200)
				clk.Advance(time.Hour)
				if err := y1.Tick(ctx); err != nil {
					t.Fatalf("round with the revocation: %v", err)
				}
				waitUntil(t, func() bool { return e2.svc.MetadataStatus(ctx).Serial == 2 })
				// Either replica may have taken the round (replica 2's loop
				// runs beside y1.Tick), and the one that did puts the copy
				// in force before it checks the credentials: wait for the
				// check's outcome, not only for the copy.
				waitUntil(t, func() bool {
					n, list, err := st.CompromisedCredentials(ctx, 10)
					return err == nil && n == 1 && (list[0].SuspendedAt != nil) == suspend
				})

				n, list, err := st.CompromisedCredentials(ctx, 10)
				if err != nil || n != 1 || list[0].ID != cred.ID || list[0].CompromisedStatus != "REVOKED" {
					t.Fatalf("compromised after the revocation: %d %+v %v", n, list, err)
				}
				if (list[0].SuspendedAt != nil) != suspend {
					t.Fatalf("suspended = %v, want %v", list[0].SuspendedAt != nil, suspend)
				}
				wantAudit := map[string]int{"credential.model_compromised": 1}
				if suspend {
					wantAudit["credential.suspended"] = 1
				}
				for action, want := range wantAudit {
					got, _ := st.ListAuditEntries(ctx, store.AuditFilter{Action: action, TargetID: user.ID}, 10)
					if len(got) != want {
						t.Fatalf("%d %s audit entries, want %d", len(got), action, want)
					}
				}

				// From here the test drives both replicas round by round:
				// replica 2's own loop could take a round y1.Tick expects.
				stop()
				<-ran

				// Signing in on the other replica.
				opts, cid, err := e2.svc.BeginLoginWith(ctx, user, Options{}, testBrowser, testIA)
				if err != nil {
					t.Fatal(err)
				}
				d.cred.Counter++
				res, err := e2.svc.FinishLogin(ctx, cid, testBrowser, d.assert(t, opts, testRP, nil))
				if suspend {
					wantErr(t, err, ErrCredentialSuspended)
				} else if err != nil || res.ACR != models.ACRBasic || slices.Contains(res.AMR, "mfa") {
					t.Fatalf("sign-in under warn: %+v %v", res, err)
				}

				// Bad BLOBs keep the last good copy.
				for _, bad := range []struct {
					name   string
					blob   []byte
					status int
					want   string
				}{
					{"bad signature", other.BytesWith(t, mdstest.Header{No: 3, NextUpdate: now.Add(20 * 24 * time.Hour)}, certified), 200, "verify mds blob"},
					{"expired", signer.BytesWith(t, mdstest.Header{No: 3, NextUpdate: now.Add(-48 * time.Hour)}, certified), 200, "expired"},
					{"older serial", signer.BytesWith(t, mdstest.Header{No: 1, NextUpdate: now.Add(20 * 24 * time.Hour)}, certified), 200, "older"},
					{"not a jwt", []byte("<html>maintenance</html>"), 200, "verify mds blob"},
					{"server error", nil, 503, "503"},
				} {
					srv.serve(bad.blob, bad.status)
					// An hour on, a round is due; under a loaded machine the
					// round of the hour before may still have been the
					// other replica's, so give it up to three hours.
					var err error
					for try := 0; try < 3 && err == nil; try++ {
						clk.Advance(time.Hour)
						err = y1.Tick(ctx)
					}
					if err == nil || !strings.Contains(err.Error(), bad.want) {
						t.Fatalf("%s: round error %v, want %q", bad.name, err, bad.want)
					}
					row, gerr := st.GetFIDOMetadata(ctx, models.FIDOMetadataMDS3)
					if gerr != nil || row.Serial != 2 || !strings.Contains(row.LastError, bad.want) {
						t.Fatalf("%s: stored %d, last error %q (%v)", bad.name, row.Serial, row.LastError, gerr)
					}
					if err := y2.Tick(ctx); err != nil {
						t.Fatal(err)
					}
					s := e2.svc.MetadataStatus(ctx)
					if s.Serial != 2 || !strings.Contains(s.LastError, bad.want) {
						t.Fatalf("%s: replica 2 status %+v", bad.name, s)
					}
					if n, _, _ := st.CompromisedCredentials(ctx, 1); n != 1 {
						t.Fatalf("%s: the revocation was lost", bad.name)
					}
				}

				// Past nextUpdate + grace, the copy is stale.
				clk.Advance(12 * 24 * time.Hour)
				if s := e2.svc.MetadataStatus(ctx); s.State != MetadataStale {
					t.Fatalf("12 days past nextUpdate: %+v", s)
				}
				// A good BLOB lifting the status clears the flag, never the
				// suspension.
				srv.serve(signer.BytesWith(t, mdstest.Header{No: 4, NextUpdate: clk.Now().Add(30 * 24 * time.Hour)}, certified), 200)
				if err := y1.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				if s := e1.svc.MetadataStatus(ctx); s.State != MetadataCurrent || s.Serial != 4 || s.LastError != "" {
					t.Fatalf("after a good BLOB: %+v", s)
				}
				got, err := st.GetCredential(ctx, cred.ID)
				if err != nil || got.CompromisedStatus != "" || (got.SuspendedAt != nil) != suspend {
					t.Fatalf("after lifting: %+v %v", got, err)
				}
			})
		}
	})
}

// TestMetadataSyncOffline: without a URL nothing is fetched; the file is
// the metadata in force and its revocations are found by the rounds.
func TestMetadataSyncOffline(t *testing.T) {
	const listed = "0a1b2c3d-0000-4000-8000-000000000001"
	signer := mdstest.NewSigner(t)
	st := storetest.OpenSQLite(t)
	good := signer.Blob(t, mdstest.Entry{AAGUID: listed, Status: "FIDO_CERTIFIED_L1", Types: []string{"basic_surrogate"}})
	pol := &fixedPolicy{p: policy.Passkey{Attestation: "direct", MDSFile: good}}
	e := newEnv(t, st, func(c *Config) { c.MDSRoot, c.Policy = signer.Root, pol })
	y := NewSync(SyncConfig{}, e.svc, st)
	ctx := context.Background()
	user := e.createUser("offline@example.test")
	_, cred := e.register(user, nil, models.CredentialPasskey, newDevice(deviceOpts{aaguid: listed}))
	if s := e.svc.MetadataStatus(ctx); s.State != MetadataCurrent || s.Source != good {
		t.Fatalf("file in force: %+v", s)
	}
	pol.setMDS(signer.Blob(t, mdstest.Entry{AAGUID: listed, Status: "USER_VERIFICATION_BYPASS", Types: []string{"basic_surrogate"}}))
	if err := y.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetCredential(ctx, cred.ID)
	if err != nil || got.CompromisedStatus != "USER_VERIFICATION_BYPASS" {
		t.Fatalf("after the file's revocation: %+v %v", got, err)
	}
	if _, err := st.GetFIDOMetadata(ctx, models.FIDOMetadataMDS3); err != nil && !errors.Is(err, models.ErrNotFound) {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}
