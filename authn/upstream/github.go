package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sesame-idp/sesame/models"
)

// GitHub speaks OAuth 2 without OIDC: no ID token, so the subject is the
// numeric user id from GET /user (stable across renames, unlike the login)
// and the address one of GET /user/emails marked verified — the primary
// when verified, else none. The profile's public email is never used: it
// is whatever the person typed, unverified.

const githubDotCom = "https://github.com"

// githubEndpoint is github.com's, or a GitHub Enterprise server's at the
// provider's issuer.
func (s *Service) githubEndpoint(p *models.UpstreamProvider) oauth2.Endpoint {
	base := strings.TrimRight(p.Issuer, "/")
	if base == "" {
		base = githubDotCom
	}
	return oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token",
		AuthStyle: oauth2.AuthStyleInParams}
}

func (s *Service) githubAPI(p *models.UpstreamProvider) string {
	switch base := strings.TrimRight(p.Issuer, "/"); {
	case base == "" || base == githubDotCom:
		return "https://api.github.com"
	default:
		return base + "/api/v3"
	}
}

func (s *Service) finishGitHub(ctx context.Context, p *models.UpstreamProvider, code, verifier string) (Identity, error) {
	conf, err := s.oauth2Config(ctx, p)
	if err != nil {
		return Identity{}, err
	}
	hctx := oidc.ClientContext(ctx, s.cfg.HTTPClient)
	hctx = context.WithValue(hctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	tok, err := conf.Exchange(hctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: code exchange: %w", ErrToken, err)
	}
	api := s.githubAPI(p)
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := s.githubGet(ctx, api+"/user", tok.AccessToken, &user); err != nil {
		return Identity{}, err
	}
	if user.ID == 0 {
		return Identity{}, fmt.Errorf("%w: github user without id", ErrToken)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := s.githubGet(ctx, api+"/user/emails", tok.AccessToken, &emails); err != nil {
		return Identity{}, err
	}
	id := Identity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if id.Name == "" {
		id.Name = user.Login
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	return id, nil
}

func (s *Service) githubGet(ctx context.Context, url, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrToken, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: github api: %w", ErrProvider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%w: github api: %w", ErrProvider, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: github api %s: status %d", ErrToken, url, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: github api %s: %w", ErrToken, url, err)
	}
	return nil
}
