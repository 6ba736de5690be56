package clients

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
)

// checkSector fetches a pairwise client's sector_identifier_uri and checks
// that it lists every redirect URI (OIDC Core §8.1, OIDC Registration §5):
// whoever controls the sector's host vouches for each URI that will see its
// subjects. The fetch goes through the guarded outbound client (no
// internal address unless allowed, no redirect, 5 s, 64 KiB). Every
// problem is a ValidationError of sector_identifier_uri, so the console
// and the API show it beside the field.
func (s *Service) checkSector(ctx context.Context, uri string, redirectURIs []string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return invalid("sector_identifier_uri", "%q cannot be fetched: %v", uri, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.outbound.Do(req)
	if err != nil {
		return invalid("sector_identifier_uri", "%q could not be fetched: %v", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return invalid("sector_identifier_uri", "%q answered %s, want 200 with a JSON array of redirect URIs", uri, resp.Status)
	}
	var listed []string
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		return invalid("sector_identifier_uri", "%q is not a JSON array of redirect URIs: %v", uri, err)
	}
	for _, r := range redirectURIs {
		if !slices.Contains(listed, r) {
			return invalid("sector_identifier_uri", "%q does not list the redirect URI %q", uri, r)
		}
	}
	return nil
}
