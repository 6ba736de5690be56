-- +goose Up
CREATE TABLE mail_outbox (
    id              TEXT NOT NULL PRIMARY KEY,
    kind            TEXT NOT NULL DEFAULT '',
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL DEFAULT '',
    html_body       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
-- The worker's poll: pending mails whose next attempt is due.
CREATE INDEX mail_outbox_status_next_attempt_at ON mail_outbox (status, next_attempt_at);
-- The janitor: finished mails older than the retention.
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at);

CREATE TABLE rate_limits (
    key_hash     TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_hash, window_start)
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
DROP TABLE mail_outbox;
