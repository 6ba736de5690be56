-- +goose Up
-- Who granted a group membership: '' an administrator (console, API, CLI,
-- import), 'upstream:ID' the claim mapping of upstream provider ID, which
-- re-syncs it on each sign-in through that provider and never touches a
-- membership it did not grant.
ALTER TABLE group_members ADD COLUMN granted_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE group_members DROP COLUMN granted_by;
