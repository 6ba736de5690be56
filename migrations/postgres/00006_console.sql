-- +goose Up
-- The admin console (issue 6): admins, their setup links, step-up, the
-- audit log and the global policies.

-- role is '' for everyone but admins ('admin').
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT '';
CREATE INDEX users_role ON users (role);

-- When the session's user last proved presence with a fresh user-verified
-- passkey assertion (the console's step-up before destructive actions).
ALTER TABLE login_sessions ADD COLUMN stepped_up_at TIMESTAMPTZ;

-- One-time links that make their holder an admin. Only the token's
-- SHA-256 is stored; used_at is set by a conditional update (single use).
CREATE TABLE admin_invites (
    id               TEXT NOT NULL PRIMARY KEY,
    token_hash       TEXT NOT NULL,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    used_at          TIMESTAMPTZ,
    used_by          TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX admin_invites_token_hash ON admin_invites (token_hash);
CREATE INDEX admin_invites_expires_at ON admin_invites (expires_at);

-- Every admin change: who, what, on which target, before and after.
CREATE TABLE audit_log (
    id          TEXT NOT NULL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_kind  TEXT NOT NULL DEFAULT '',
    actor_label TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
-- Listing is newest first, optionally narrowed by actor, action or target.
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at);

-- Global policies, one JSON document per name ("global").
CREATE TABLE policies (
    name       TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE policies;
DROP TABLE audit_log;
DROP TABLE admin_invites;
ALTER TABLE login_sessions DROP COLUMN stepped_up_at;
DROP INDEX users_role;
ALTER TABLE users DROP COLUMN role;
