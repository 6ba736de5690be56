-- +goose Up
CREATE TABLE passlinks (
    id                   TEXT NOT NULL PRIMARY KEY,
    token_hash           TEXT NOT NULL,
    purpose              TEXT NOT NULL,
    email                TEXT NOT NULL DEFAULT '',
    email_normalized     TEXT NOT NULL DEFAULT '',
    user_id              TEXT NOT NULL DEFAULT '',
    interaction_id       TEXT NOT NULL DEFAULT '',
    client_id            TEXT NOT NULL DEFAULT '',
    browser_hash         TEXT NOT NULL,
    code_hash            TEXT NOT NULL,
    code_attempts        INTEGER NOT NULL DEFAULT 0,
    requester_user_agent TEXT NOT NULL DEFAULT '',
    requester_ip         TEXT NOT NULL DEFAULT '',
    outcome              TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL,
    used_at              TIMESTAMPTZ,
    completed_at         TIMESTAMPTZ
);
-- The link's lookup: only the token's hash is stored.
CREATE UNIQUE INDEX passlinks_token_hash ON passlinks (token_hash);
-- The janitor.
CREATE INDEX passlinks_expires_at ON passlinks (expires_at);

-- +goose Down
DROP TABLE passlinks;
