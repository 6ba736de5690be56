-- +goose Up
-- Device authorization grant (RFC 8628, oidc/device.go). Both codes are
-- stored as HMAC-SHA-256 hashes only; the grant (the session the tokens
-- are issued with) is JSON written when the user approves.
CREATE TABLE device_codes (
    id               TEXT NOT NULL PRIMARY KEY,
    device_code_hash TEXT NOT NULL,
    user_code_hash   TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    scopes           TEXT NOT NULL DEFAULT '[]',
    status           TEXT NOT NULL,
    poll_interval    INTEGER NOT NULL,
    last_polled_at   TIMESTAMPTZ,
    user_agent       TEXT NOT NULL DEFAULT '',
    ip               TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    grant_data       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ
);
-- The device's poll and the person's code are each one lookup.
CREATE UNIQUE INDEX device_codes_device_code_hash ON device_codes (device_code_hash);
CREATE UNIQUE INDEX device_codes_user_code_hash ON device_codes (user_code_hash);
-- The janitor.
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);

-- +goose Down
DROP TABLE device_codes;
