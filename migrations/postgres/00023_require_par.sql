-- +goose Up
-- Pushed authorization requests (RFC 9126, oidc/par.go): a client may
-- be required to push its authorization requests first (client metadata
-- require_pushed_authorization_requests, §6). The pushed requests
-- themselves live in oauth2_requests (kind 'par').
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN require_pushed_authorization_requests;
