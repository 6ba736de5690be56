-- +goose Up
-- A client's synced-passkey policy (allow, block, grace); '' follows the
-- global policy (policy synced_passkeys).
ALTER TABLE clients ADD COLUMN synced_passkeys TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN synced_passkeys;
