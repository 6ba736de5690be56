-- +goose Up
-- Self-service account lifecycle (issue 14, authn/account_*.go).
-- A user's own request to delete the account: the time after which the
-- janitor removes it (NULL: not scheduled). The grace period in between
-- lets the person change their mind.
ALTER TABLE users ADD COLUMN deletion_due_at DATETIME;
CREATE INDEX users_deletion_due_at ON users (deletion_due_at);

-- Recovery codes: ten single-use codes per user, each stored only as a
-- keyed hash (HMAC-SHA-256 under a key derived from the system secret:
-- the codes are random, so a fast keyed hash is enough). A row is spent
-- by setting used_at (a conditional update).
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    used_at    DATETIME,
    PRIMARY KEY (user_id, code_hash)
);

-- +goose Down
DROP TABLE recovery_codes;
DROP INDEX users_deletion_due_at;
ALTER TABLE users DROP COLUMN deletion_due_at;
