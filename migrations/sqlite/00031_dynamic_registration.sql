-- +goose Up
-- Dynamic client registration (RFC 7591) and management (RFC 7592),
-- oidc/clients/registration.go. Initial access tokens are stored as
-- HMAC-SHA-256 hashes only; so is each client's registration access
-- token. The client's informational metadata (client_uri, policy_uri,
-- tos_uri, contacts) is settable by admins too.
CREATE TABLE initial_access_tokens (
    id           TEXT NOT NULL PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    max_uses     INTEGER NOT NULL,
    uses         INTEGER NOT NULL DEFAULT 0,
    expires_at   DATETIME NOT NULL,
    revoked_at   DATETIME,
    last_used_at DATETIME,
    created_at   DATETIME NOT NULL
);
-- A registration looks its token up by hash.
CREATE UNIQUE INDEX initial_access_tokens_token_hash ON initial_access_tokens (token_hash);

ALTER TABLE clients ADD COLUMN client_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN policy_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN tos_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN contacts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN dynamic BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN initial_access_token_id TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN registered_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN registration_token_hash;
ALTER TABLE clients DROP COLUMN registered_ip;
ALTER TABLE clients DROP COLUMN initial_access_token_id;
ALTER TABLE clients DROP COLUMN dynamic;
ALTER TABLE clients DROP COLUMN contacts;
ALTER TABLE clients DROP COLUMN tos_uri;
ALTER TABLE clients DROP COLUMN policy_uri;
ALTER TABLE clients DROP COLUMN client_uri;
DROP TABLE initial_access_tokens;
