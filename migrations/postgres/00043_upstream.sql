-- +goose Up
-- Sign-in through upstream identity providers (authn/upstream): the
-- providers an admin configured, the identities linked to accounts
-- (keyed by provider and subject, never by address) and the state of each
-- redirect to an upstream, single use and short-lived.
CREATE TABLE upstream_providers (
    id                   TEXT NOT NULL PRIMARY KEY,
    name                 TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    issuer               TEXT NOT NULL DEFAULT '',
    client_id            TEXT NOT NULL,
    -- AES-GCM under a key derived from the system secret.
    client_secret_sealed TEXT NOT NULL DEFAULT '',
    scopes               TEXT NOT NULL DEFAULT '[]',
    claims               TEXT NOT NULL DEFAULT '{}',
    icon                 TEXT NOT NULL DEFAULT '',
    provisioning         TEXT NOT NULL DEFAULT 'create',
    group_map            TEXT NOT NULL DEFAULT '{}',
    domains              TEXT NOT NULL DEFAULT '[]',
    local_methods        BOOLEAN NOT NULL DEFAULT FALSE,
    pass_amr             BOOLEAN NOT NULL DEFAULT FALSE,
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE upstream_identities (
    id           TEXT NOT NULL PRIMARY KEY,
    provider_id  TEXT NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
-- The one lookup of a sign-in, and what makes (provider, subject) one account's.
CREATE UNIQUE INDEX upstream_identities_subject ON upstream_identities (provider_id, subject);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id);

CREATE TABLE upstream_flows (
    id             TEXT NOT NULL PRIMARY KEY,
    state_hash     TEXT NOT NULL,
    provider_id    TEXT NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    interaction_id TEXT NOT NULL DEFAULT '',
    browser_hash   TEXT NOT NULL,
    nonce          TEXT NOT NULL DEFAULT '',
    verifier_sealed TEXT NOT NULL DEFAULT '',
    -- Set when the upstream answered and a link waits for the person to
    -- prove the existing account (link_user_id).
    subject        TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    link_user_id   TEXT NOT NULL DEFAULT '',
    stage          TEXT NOT NULL DEFAULT 'redirected',
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ
);
CREATE UNIQUE INDEX upstream_flows_state ON upstream_flows (state_hash);
CREATE INDEX upstream_flows_expires ON upstream_flows (expires_at);
-- The check at the end of a passkey or link sign-in for a link it proves.
CREATE INDEX upstream_flows_link_user ON upstream_flows (link_user_id);

-- +goose Down
DROP TABLE upstream_flows;
DROP TABLE upstream_identities;
DROP TABLE upstream_providers;
