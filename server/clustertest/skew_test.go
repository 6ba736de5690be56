package clustertest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/oidc/clients"
	"github.com/sesame-idp/sesame/server/clustertest"
)

// skewed starts two replicas whose clocks are 90 s behind (r0) and 90 s
// ahead (r1) of the test's, 3 minutes apart, with env added.
func skewed(t *testing.T, env ...string) *clustertest.Cluster {
	return clustertest.Start(t, clustertest.Options{Replicas: 2,
		ClockOffsets: []time.Duration{-90 * time.Second, 90 * time.Second}, Env: env})
}

const behind, ahead = "r0", "r1"

// skewRP is a web app whose token requests (rp) and browser (b) can each
// be pinned to a replica.
type skewRP struct {
	rp        *clustertest.RP
	rpPin     *clustertest.Pinner
	b         *clustertest.Browser
	bPin      *clustertest.Pinner
	appHops   *clustertest.Recorder
	webHops   *clustertest.Recorder
	email     string
	clientKey *ecdsa.PrivateKey
	machineID string
}

func newSkewRP(t *testing.T, c *clustertest.Cluster) *skewRP {
	t.Helper()
	s := &skewRP{rpPin: &clustertest.Pinner{}, bPin: &clustertest.Pinner{}}
	s.appHops, s.webHops = &clustertest.Recorder{Base: s.rpPin}, &clustertest.Recorder{Base: s.bPin}
	id, secret := c.CreateClient(clients.Spec{Name: "Acme Notes", RedirectURIs: []string{callback}, SkipConsent: true})
	rp, err := clustertest.NewRP(t.Context(), c.Issuer, id, secret, callback, &http.Client{Transport: s.appHops, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.rp = rp
	s.email = "skew-" + clustertest.Random() + "@example.com"
	if _, err := clustertest.CreateUser(t.Context(), c.Store, s.email); err != nil {
		t.Fatal(err)
	}
	s.b = clustertest.NewBrowser(t, c.Issuer, s.webHops)

	s.clientKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &s.clientKey.PublicKey, KeyID: "machine", Algorithm: "ES256", Use: "sig"})
	s.machineID, _ = c.CreateClient(clients.Spec{Name: "Machine", GrantTypes: []string{clients.GrantClientCredentials},
		TokenEndpointAuthMethod: "private_key_jwt", JWKS: `{"keys":[` + string(jwk) + `]}`})
	return s
}

// signIn has the link requested on replica linkOn, opened and the code
// issued on codeOn, and the code exchanged on exchangeOn.
func (s *skewRP) signIn(t *testing.T, c *clustertest.Cluster, linkOn, codeOn, exchangeOn string) (*clustertest.SignedIn, error) {
	t.Helper()
	s.bPin.Pin(linkOn)
	f, err := clustertest.StartPasslinkSignIn(t.Context(), s.b, s.rp, s.email, "")
	if err != nil {
		t.Fatal(err)
	}
	s.bPin.Pin(codeOn)
	s.rpPin.Pin(exchangeOn)
	return f.Finish(t.Context(), c.SMTP, s.email)
}

// assertion authenticates the machine client at replica on with a
// private_key_jwt assertion made by the test's (exact) clock, living 60 s.
func (s *skewRP) assertion(t *testing.T, c *clustertest.Cluster, on string) (int, string) {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.clientKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "machine"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: s.machineID, Subject: s.machineID, Audience: jwt.Audience{c.Issuer + "/oauth2/token"},
		ID: clustertest.Random(), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.machineID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
	req, _ := http.NewRequest(http.MethodPost, c.URL("/oauth2/token"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(clustertest.PinHeader, on)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}

// lastHop is the replica that answered the last request to path (a path
// ending in / stands for any below it).
func lastHop(r *clustertest.Recorder, path string) string {
	hops := r.Hops()
	for i := len(hops) - 1; i >= 0; i-- {
		if hops[i].Path == path || strings.HasSuffix(path, "/") && strings.HasPrefix(hops[i].Path, path) {
			return hops[i].Replica
		}
	}
	return ""
}

// TestClockSkewBetweenReplicas: two replicas whose clocks are 3 minutes
// apart (90 s behind and 90 s ahead of true time; NTP keeps real ones far
// closer) accept each other's links, codes, tokens and the clients'
// assertions, within clock_skew_leeway (default 2 minutes):
//   - a sign-in link requested on the replica ahead is opened on the one
//     behind (to which it was made 3 minutes in the future);
//   - the code that replica issues (default lifetime 2 minutes) is redeemed
//     on the replica ahead, to which it expired a minute ago;
//   - the refresh token is used on the replica behind, then the same one
//     again at once on the replica ahead: within the 10 s reuse interval
//     by the database's clock (3 minutes apart by the replicas'), so both
//     get a fresh pair and the grant lives; each new pair works across;
//   - userinfo on each replica takes the other's access token (before the
//     next rotation retires them);
//   - a private_key_jwt assertion from a client with the true time (60 s
//     lifetime) is accepted by both: expired 30 s ago to the replica
//     ahead, issued 90 s in the future to the one behind.
//
// With the leeway off (clock_skew_leeway 0), the same code exchange and
// the assertions are refused: the test sees the skew.
func TestClockSkewBetweenReplicas(t *testing.T) {
	t.Run("with the default leeway", func(t *testing.T) {
		c := skewed(t)
		s := newSkewRP(t, c)
		ctx := t.Context()
		got, err := s.signIn(t, c, ahead, behind, ahead)
		if err != nil {
			t.Fatalf("sign-in across the skew: %v", err)
		}
		if lastHop(s.webHops, "/passlink") != ahead || lastHop(s.webHops, "/passlink/") != behind {
			t.Fatalf("the link was not requested on %s and opened on %s: %+v", ahead, behind, s.webHops.Hops())
		}
		if h := lastHop(s.appHops, "/oauth2/token"); h != ahead {
			t.Fatalf("code exchanged on %q, want %s", h, ahead)
		}

		s.rpPin.Pin(behind)
		first, err := s.rp.Refresh(ctx, got.Token.RefreshToken)
		if err != nil {
			t.Fatalf("refresh on %s of a token from %s: %v", behind, ahead, err)
		}
		s.rpPin.Pin(ahead)
		second, err := s.rp.Refresh(ctx, got.Token.RefreshToken)
		if err != nil {
			t.Fatalf("the same refresh token again at once on %s (reuse interval): %v", ahead, err)
		}
		for _, tc := range []struct {
			on  string
			tok string
		}{{behind, second.AccessToken}, {ahead, first.AccessToken}} {
			s.rpPin.Pin(tc.on)
			info, err := s.rp.UserInfo(ctx, &oauth2.Token{AccessToken: tc.tok, TokenType: "Bearer"})
			if err != nil || info.Email != s.email {
				t.Fatalf("userinfo on %s with the other's access token: %v %+v", tc.on, err, info)
			}
		}
		// Both pairs live: each refreshes on the other replica.
		s.rpPin.Pin(ahead)
		if _, err := s.rp.Refresh(ctx, first.RefreshToken); err != nil {
			t.Fatalf("refresh on %s of the pair from %s: %v (the reuse revoked the grant)", ahead, behind, err)
		}
		s.rpPin.Pin(behind)
		if _, err := s.rp.Refresh(ctx, second.RefreshToken); err != nil {
			t.Fatalf("refresh on %s of the pair from %s: %v", behind, ahead, err)
		}
		for _, on := range []string{behind, ahead} {
			if status, code := s.assertion(t, c, on); status != http.StatusOK {
				t.Errorf("client assertion at %s: %d %s", on, status, code)
			}
		}
	})

	t.Run("without a leeway the skew shows", func(t *testing.T) {
		c := skewed(t, "SESAME_CLOCK_SKEW_LEEWAY=0s")
		s := newSkewRP(t, c)
		_, err := s.signIn(t, c, ahead, behind, ahead)
		if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("code from %s redeemed on %s without a leeway: %v, want invalid_grant", behind, ahead, err)
		}
		for _, on := range []string{behind, ahead} {
			if status, code := s.assertion(t, c, on); status != http.StatusUnauthorized || code != "invalid_client" {
				t.Errorf("client assertion at %s without a leeway: %d %s, want 401 invalid_client", on, status, code)
			}
		}
	})
}
