-- +goose Up
CREATE TABLE users (
    id               TEXT NOT NULL PRIMARY KEY,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    email_verified   BOOLEAN NOT NULL DEFAULT FALSE,
    display_name     TEXT NOT NULL DEFAULT '',
    disabled         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_normalized ON users (email_normalized);

CREATE TABLE clients (
    id                         TEXT NOT NULL PRIMARY KEY,
    name                       TEXT NOT NULL,
    secret_hash                TEXT NOT NULL DEFAULT '',
    public                     BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_uris              TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  TEXT NOT NULL DEFAULT '[]',
    grant_types                TEXT NOT NULL DEFAULT '[]',
    response_types             TEXT NOT NULL DEFAULT '[]',
    scopes                     TEXT NOT NULL DEFAULT '[]',
    token_endpoint_auth_method TEXT NOT NULL,
    id_token_signed_alg        TEXT NOT NULL DEFAULT 'RS256',
    jwks                       TEXT NOT NULL DEFAULT '',
    jwks_uri                   TEXT NOT NULL DEFAULT '',
    skip_consent               BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_login_methods      TEXT NOT NULL DEFAULT '[]',
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE oauth2_requests (
    kind             TEXT NOT NULL,
    signature        TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    subject          TEXT NOT NULL DEFAULT '',
    session_id       TEXT NOT NULL DEFAULT '',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    requested_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    data             TEXT NOT NULL,
    access_signature TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth2_requests_request_id ON oauth2_requests (request_id);
CREATE INDEX oauth2_requests_subject_client ON oauth2_requests (subject, client_id);
CREATE INDEX oauth2_requests_session_id ON oauth2_requests (session_id);
CREATE INDEX oauth2_requests_expires_at ON oauth2_requests (expires_at);

CREATE TABLE used_jtis (
    jti_hash   TEXT NOT NULL PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX used_jtis_expires_at ON used_jtis (expires_at);

CREATE TABLE signing_keys (
    kid          TEXT NOT NULL PRIMARY KEY,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL,
    private_jwk  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ,
    retired_at   TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);
CREATE INDEX signing_keys_alg_state ON signing_keys (alg, state);

CREATE TABLE login_sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    token_hash   TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    TIMESTAMPTZ NOT NULL,
    amr          TEXT NOT NULL DEFAULT '[]',
    acr          TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX login_sessions_token_hash ON login_sessions (token_hash);
CREATE INDEX login_sessions_user_id ON login_sessions (user_id);
CREATE INDEX login_sessions_expires_at ON login_sessions (expires_at);

CREATE TABLE interactions (
    id               TEXT NOT NULL PRIMARY KEY,
    browser_hash     TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    query            TEXT NOT NULL,
    prompt           TEXT NOT NULL DEFAULT '',
    max_age          INTEGER,
    login_hint       TEXT NOT NULL DEFAULT '',
    acr_values       TEXT NOT NULL DEFAULT '',
    login_session_id TEXT NOT NULL DEFAULT '',
    consent_given    BOOLEAN NOT NULL DEFAULT FALSE,
    error            TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    consumed_at      TIMESTAMPTZ
);
CREATE INDEX interactions_expires_at ON interactions (expires_at);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id ON consents (client_id);

-- +goose Down
DROP TABLE consents;
DROP TABLE interactions;
DROP TABLE login_sessions;
DROP TABLE signing_keys;
DROP TABLE used_jtis;
DROP TABLE oauth2_requests;
DROP TABLE clients;
DROP TABLE users;
