-- +goose Up
-- OpenID Connect Back-Channel Logout 1.0 (issue 13, oidc/backchannel.go).
-- A client's back-channel logout URI ('' for none) and whether it needs
-- the sid claim in its logout tokens.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- The clients a login session signed in to (one row per session and
-- client, written with the authorization code): who hears of the
-- session's end. Rows go when the session ends or expires.
CREATE TABLE session_clients (
    session_id  TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX session_clients_expires_at ON session_clients (expires_at);

-- Logout tokens waiting to be delivered (the mail outbox's lease
-- protocol, internal/outbox): one row per session and client.
CREATE TABLE logout_outbox (
    id              TEXT NOT NULL PRIMARY KEY,
    client_id       TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    locked_until    DATETIME,
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME
);
CREATE INDEX logout_outbox_status_next_attempt_at ON logout_outbox (status, next_attempt_at);
CREATE INDEX logout_outbox_created_at ON logout_outbox (created_at);

-- +goose Down
DROP TABLE logout_outbox;
DROP TABLE session_clients;
ALTER TABLE clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
