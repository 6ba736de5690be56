-- +goose Up
-- Resource indicators (RFC 8707) at the device authorization endpoint
-- (oidc/device.go): the audiences of the resources the device asked for,
-- a JSON list like scopes; the tokens of the poll carry them as aud.
ALTER TABLE device_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE device_codes DROP COLUMN resources;
