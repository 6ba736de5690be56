-- +goose Up
-- When a request record stopped being active. A refresh token presented
-- again shortly after its rotation (a concurrent refresh, a client retry)
-- is told apart from reuse of a long-spent token by it. NULL on records
-- deactivated before this migration: those count as long spent.
ALTER TABLE oauth2_requests ADD COLUMN deactivated_at DATETIME;

-- +goose Down
ALTER TABLE oauth2_requests DROP COLUMN deactivated_at;
