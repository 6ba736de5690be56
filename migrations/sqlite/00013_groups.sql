-- +goose Up
-- Groups and who may use which app (issue 10 item 3): groups with unique
-- names, their members, and per client the groups whose members may sign
-- in to it (a JSON list of group names; [] lets everyone in). Profile
-- fields for custom claims (item 4): a unique username (lower-cased for the
-- unique index), standard profile claims and admin-set attributes (a JSON
-- object, at most 4 KiB).
CREATE TABLE groups (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (name);

CREATE TABLE group_members (
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_id ON group_members (user_id);

ALTER TABLE clients ADD COLUMN allowed_groups TEXT NOT NULL DEFAULT '[]';

ALTER TABLE users ADD COLUMN username TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN picture TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX users_username ON users (username);

-- Custom scopes defined by admins: each releases named claims taken from a
-- user's attributes or groups (claims: a JSON list of
-- {"claim", "source", "attribute"}).
CREATE TABLE custom_scopes (
    name        TEXT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    claims      TEXT NOT NULL DEFAULT '[]',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE custom_scopes;
DROP INDEX users_username;
ALTER TABLE users DROP COLUMN attributes;
ALTER TABLE users DROP COLUMN picture;
ALTER TABLE users DROP COLUMN locale;
ALTER TABLE users DROP COLUMN family_name;
ALTER TABLE users DROP COLUMN given_name;
ALTER TABLE users DROP COLUMN username;
ALTER TABLE clients DROP COLUMN allowed_groups;
DROP TABLE group_members;
DROP TABLE groups;
