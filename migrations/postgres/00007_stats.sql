-- +goose Up
-- Rollups of auth_events for the console's statistics: counters per minute
-- per hour and per day, upserted in the transaction that records each event.
CREATE TABLE auth_event_minutes (
    bucket    TIMESTAMPTZ NOT NULL,
    method    TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL DEFAULT '',
    event     TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT '',
    total     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, method, client_id, event, result, reason)
);

CREATE TABLE auth_event_hours (
    bucket    TIMESTAMPTZ NOT NULL,
    method    TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL DEFAULT '',
    event     TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT '',
    total     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, method, client_id, event, result, reason)
);

CREATE TABLE auth_event_days (
    bucket    TIMESTAMPTZ NOT NULL,
    method    TEXT NOT NULL DEFAULT '',
    client_id TEXT NOT NULL DEFAULT '',
    event     TEXT NOT NULL DEFAULT '',
    result    TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT '',
    total     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, method, client_id, event, result, reason)
);

-- One row per user and UTC day with a successful sign-in: active users.
CREATE TABLE user_days (
    day     TIMESTAMPTZ NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (day, user_id)
);
CREATE INDEX user_days_user_id ON user_days (user_id);

-- Each user's last day with a successful sign-in: "active in the last N
-- days" is an index range count here, not a DISTINCT over user_days.
CREATE TABLE user_last_active (
    user_id  TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_day    TIMESTAMPTZ NOT NULL,
    -- has_passkey: whether the user had a passkey at that last sign-in.
    has_passkey BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX user_last_active_last_day ON user_last_active (last_day);
CREATE INDEX user_last_active_passkey ON user_last_active (has_passkey, last_day);

-- Credential statistics read this index only.
CREATE INDEX webauthn_credentials_stats ON webauthn_credentials (kind, aaguid, backup_eligible);

-- New accounts per day.
CREATE INDEX users_created_at ON users (created_at);

-- +goose Down
DROP INDEX webauthn_credentials_stats;
DROP INDEX users_created_at;
DROP TABLE user_last_active;
DROP TABLE user_days;
DROP TABLE auth_event_days;
DROP TABLE auth_event_hours;
DROP TABLE auth_event_minutes;
