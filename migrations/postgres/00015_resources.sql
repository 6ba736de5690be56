-- +goose Up
-- Resource indicators (RFC 8707) and JWT access tokens (RFC 9068): the
-- registry of protected resources (APIs), each with its audience (the
-- resource indicator, unique), the scopes a token for it may carry (a JSON
-- list; [] allows any) and its access token format ('jwt' or 'opaque').
CREATE TABLE resources (
    name                TEXT NOT NULL PRIMARY KEY,
    description         TEXT NOT NULL DEFAULT '',
    audience            TEXT NOT NULL,
    scopes              TEXT NOT NULL DEFAULT '[]',
    access_token_format TEXT NOT NULL DEFAULT 'jwt',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX resources_audience ON resources (audience);
-- Per client: the access token format ('' is opaque) and whether every
-- token must be bound to a DPoP key (RFC 9449 §5.2).
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN dpop_bound_access_tokens;
ALTER TABLE clients DROP COLUMN access_token_format;
DROP TABLE resources;
