package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sesame-idp/sesame/models"
	"github.com/sesame-idp/sesame/models/store"
)

// createLogoutClient is a client with a back-channel logout URI.
func createLogoutClient(t *testing.T, s *store.Store) *models.Client {
	t.Helper()
	c := newClient()
	c.BackchannelLogoutURI = "https://app.example/backchannel-logout"
	c.BackchannelLogoutSessionRequired = true
	must(t, s.CreateClient(t.Context(), c))
	return c
}

// signedIn records that ls signed in to each client.
func signedIn(t *testing.T, s *store.Store, ls *models.LoginSession, cs ...*models.Client) {
	t.Helper()
	for _, c := range cs {
		must(t, s.RecordSessionClient(t.Context(), &models.SessionClient{SessionID: ls.ID, ClientID: c.ID, UserID: ls.UserID,
			CreatedAt: at(0), ExpiresAt: ls.ExpiresAt}))
	}
}

// noticeClients lists the clients the session's logout notices go to.
func noticeClients(t *testing.T, s *store.Store, sessionID string) []string {
	t.Helper()
	ns, err := s.ListLogoutNotices(t.Context(), sessionID)
	must(t, err)
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if n.Status != models.MailPending || n.SessionID != sessionID || n.ID == "" {
			t.Errorf("notice %+v: want a pending notice of session %s", n, sessionID)
		}
		out = append(out, n.ClientID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(cs ...*models.Client) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

// logoutTests: OIDC Back-Channel Logout 1.0 §2.7 — every client with a
// back-channel logout URI that a session signed in to is told when it ends,
// whichever path ends it; the notice is written in the same transaction.
var logoutTests = []subtest{
	{"RevokeQueuesOneNoticePerBackchannelClient", func(t *testing.T, s *store.Store) {
		for name, revoke := range map[string]func(*models.LoginSession) error{
			"ID":        func(ls *models.LoginSession) error { return s.RevokeLoginSession(t.Context(), ls.ID) },
			"TokenHash": func(ls *models.LoginSession) error { return s.RevokeLoginSessionByTokenHash(t.Context(), ls.TokenHash) },
		} {
			t.Run(name, func(t *testing.T) {
				u := createUser(t, s)
				ls := createLoginSession(t, s, u.ID, time.Hour)
				a, b, plain := createLogoutClient(t, s), createLogoutClient(t, s), createClient(t, s)
				signedIn(t, s, ls, a, b, plain, a) // the second record of a is a no-op
				scs, err := s.ListSessionClients(t.Context(), ls.ID)
				must(t, err)
				if len(scs) != 3 {
					t.Fatalf("session clients = %+v, want 3", scs)
				}
				must(t, revoke(ls))
				if got, want := noticeClients(t, s, ls.ID), sortedIDs(a, b); !slices.Equal(got, want) {
					t.Errorf("notices to %v, want %v (not the client without a URI)", got, want)
				}
				ns, _ := s.ListLogoutNotices(t.Context(), ls.ID)
				if ns[0].UserID != u.ID {
					t.Errorf("notice user = %q, want %q", ns[0].UserID, u.ID)
				}
				scs, err = s.ListSessionClients(t.Context(), ls.ID)
				must(t, err)
				if len(scs) != 0 {
					t.Errorf("session clients after revocation = %+v, want none", scs)
				}
				wantErr(t, "revoke twice", revoke(ls), models.ErrNotFound)
				if got := noticeClients(t, s, ls.ID); len(got) != 2 {
					t.Errorf("a second revocation queued more notices: %v", got)
				}
			})
		}
	}},
	{"EveryEndingPathQueues", func(t *testing.T, s *store.Store) {
		c := createLogoutClient(t, s)
		paths := []struct {
			name string
			end  func(u *models.User, ls *models.LoginSession) error
		}{
			{"RevokeLoginSessionByTokenHash", func(u *models.User, ls *models.LoginSession) error {
				// The other session is ended too, by its id: both paths.
				if err := s.RevokeLoginSessionByTokenHash(t.Context(), ls.TokenHash); err != nil {
					return err
				}
				list, err := s.ListUserLoginSessions(t.Context(), u.ID)
				if err != nil || len(list) != 1 {
					return fmt.Errorf("live sessions after one ended: %d, %v", len(list), err)
				}
				return s.RevokeLoginSession(t.Context(), list[0].ID)
			}},
			{"RevokeUserLoginSessions", func(u *models.User, _ *models.LoginSession) error {
				return s.RevokeUserLoginSessions(t.Context(), u.ID)
			}},
			{"SetUserDisabled", func(u *models.User, _ *models.LoginSession) error {
				return s.SetUserDisabled(t.Context(), u.ID, true)
			}},
			{"ResetUserPassword", func(u *models.User, _ *models.LoginSession) error {
				return s.ResetUserPassword(t.Context(), u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
			}},
			{"DeleteUser", func(u *models.User, _ *models.LoginSession) error {
				return s.DeleteUser(t.Context(), u.ID)
			}},
		}
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				u := createUser(t, s)
				one, two := createLoginSession(t, s, u.ID, time.Hour), createLoginSession(t, s, u.ID, time.Hour)
				signedIn(t, s, one, c)
				signedIn(t, s, two, c)
				must(t, p.end(u, one))
				for _, ls := range []*models.LoginSession{one, two} {
					if got := noticeClients(t, s, ls.ID); !slices.Equal(got, []string{c.ID}) {
						t.Errorf("session %s: notices to %v, want [%s]", ls.ID, got, c.ID)
					}
				}
			})
		}
		t.Run("ChangeUserPasswordKeepsTheChangingSession", func(t *testing.T) {
			u := createUser(t, s)
			keep, other := createLoginSession(t, s, u.ID, time.Hour), createLoginSession(t, s, u.ID, time.Hour)
			signedIn(t, s, keep, c)
			signedIn(t, s, other, c)
			must(t, s.ChangeUserPassword(t.Context(), u.ID, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", keep.ID))
			if got := noticeClients(t, s, keep.ID); len(got) != 0 {
				t.Errorf("the session that changed the password was logged out of %v", got)
			}
			if got := noticeClients(t, s, other.ID); !slices.Equal(got, []string{c.ID}) {
				t.Errorf("other session: notices to %v, want [%s]", got, c.ID)
			}
		})
	}},
	{"RolledBackRevocationQueuesNothing", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		ls := createLoginSession(t, s, u.ID, time.Hour)
		c := createLogoutClient(t, s)
		signedIn(t, s, ls, c)
		err := s.WithTx(t.Context(), func(ctx context.Context) error {
			must(t, s.RevokeLoginSession(ctx, ls.ID))
			return errBoom
		})
		wantErr(t, "WithTx", err, errBoom)
		if got := noticeClients(t, s, ls.ID); len(got) != 0 {
			t.Errorf("a rolled-back revocation left notices to %v", got)
		}
		if _, err := s.GetLoginSession(t.Context(), ls.ID); err != nil {
			t.Errorf("session after rollback: %v", err)
		}
	}},
	{"LeaseProtocol", func(t *testing.T, s *store.Store) {
		u := createUser(t, s)
		c := createLogoutClient(t, s)
		var ids []string
		ours := map[string]bool{}
		for range 12 {
			ls := createLoginSession(t, s, u.ID, time.Hour)
			signedIn(t, s, ls, c)
			must(t, s.RevokeLoginSession(t.Context(), ls.ID))
			ns, err := s.ListLogoutNotices(t.Context(), ls.ID)
			must(t, err)
			ids = append(ids, ns[0].ID)
			ours[ns[0].ID] = true
		}
		now := at(time.Second)
		claimEachOnce(t, 6, ours, func() ([]string, error) {
			ns, err := s.DueLogoutNotices(t.Context(), now, 1000)
			out := make([]string, len(ns))
			for i, n := range ns {
				out[i] = n.ID
			}
			return out, err
		}, func(id string) error { return s.ClaimLogoutNotice(t.Context(), id, now, now.Add(2*time.Minute)) })
		lease := now.Add(2 * time.Minute)
		wantErr(t, "mark with a wrong lease", s.MarkLogoutNoticeSent(t.Context(), ids[0], lease.Add(time.Second), now), models.ErrConsumed)
		must(t, s.MarkLogoutNoticeSent(t.Context(), ids[0], lease, now))
		n, err := s.GetLogoutNotice(t.Context(), ids[0])
		must(t, err)
		if n.Status != models.MailSent || n.Attempts != 1 || n.SentAt == nil || n.LockedUntil != nil {
			t.Errorf("sent notice = %+v", n)
		}
		must(t, s.RetryLogoutNotice(t.Context(), ids[1], lease, now.Add(time.Minute), "connection refused", false))
		n, err = s.GetLogoutNotice(t.Context(), ids[1])
		must(t, err)
		if n.Status != models.MailPending || n.Attempts != 1 || n.LastError != "connection refused" || n.LockedUntil != nil {
			t.Errorf("retried notice = %+v", n)
		}
		must(t, s.RetryLogoutNotice(t.Context(), ids[2], lease, now.Add(time.Minute), "400 Bad Request", true))
		n, err = s.GetLogoutNotice(t.Context(), ids[2])
		must(t, err)
		if n.Status != models.MailFailed {
			t.Errorf("failed notice = %+v", n)
		}
		due, err := s.DueLogoutNotices(t.Context(), now.Add(time.Minute), 1000)
		must(t, err)
		if !slices.ContainsFunc(due, func(d models.LogoutNotice) bool { return d.ID == ids[1] }) ||
			slices.ContainsFunc(due, func(d models.LogoutNotice) bool { return d.ID == ids[0] || d.ID == ids[2] }) {
			t.Errorf("due after outcomes: the retried notice only, of %v", ids[:3])
		}
	}},
}
