-- +goose Up
-- The provider stores what the hosted pages need from a parked
-- authorization request, so nothing outside oidc parses its query: the
-- requested scopes (a JSON array, as consents.scopes) and the redirect URI
-- the response will go to (the client's only registered one when the
-- request omitted it). '' and '[]' on rows parked before this migration.
ALTER TABLE interactions ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE interactions ADD COLUMN redirect_uri TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE interactions DROP COLUMN redirect_uri;
ALTER TABLE interactions DROP COLUMN scopes;
