-- +goose Up
-- Pairwise subject identifiers (OIDC Core §8.1; issue 13, oidc/pairwise.go):
-- a client's subject_type ('public' or 'pairwise') and the https URL of
-- the JSON list of redirect URIs whose host is its sector identifier ('' for
-- the host of its redirect URIs).
ALTER TABLE clients ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'public';
ALTER TABLE clients ADD COLUMN sector_identifier_uri TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN sector_identifier_uri;
ALTER TABLE clients DROP COLUMN subject_type;
