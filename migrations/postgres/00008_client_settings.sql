-- +goose Up
-- Client settings of the admin console (issue 6): disable/enable, a logo,
-- per-client token lifetimes (seconds; 0 = the global setting), a minimum
-- acr the client always requires, and its passkey user verification
-- requirement ('' = the global policy).
ALTER TABLE clients ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN logo_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN access_token_ttl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN refresh_token_ttl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN id_token_ttl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN min_acr TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN user_verification TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN user_verification;
ALTER TABLE clients DROP COLUMN min_acr;
ALTER TABLE clients DROP COLUMN id_token_ttl;
ALTER TABLE clients DROP COLUMN refresh_token_ttl;
ALTER TABLE clients DROP COLUMN access_token_ttl;
ALTER TABLE clients DROP COLUMN logo_uri;
ALTER TABLE clients DROP COLUMN disabled;
