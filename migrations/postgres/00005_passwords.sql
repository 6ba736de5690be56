-- +goose Up
-- Passwords of the "password + security key" method (issue 5), in their own
-- table rather than a column on users: the User struct travels to templates,
-- logs and the console, and a hash must never ride along. One row per user
-- who has a password; argon2id PHC strings only (authn/password).
CREATE TABLE user_passwords (
    user_id    TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE user_passwords;
