-- +goose Up
-- Browser origins (scheme://host[:port], a JSON list) whose pages may read
-- the protocol endpoints' answers (CORS, issue 10). '[]' means the origins
-- of the redirect URIs for a public client, none for a confidential one.
ALTER TABLE clients ADD COLUMN allowed_web_origins TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE clients DROP COLUMN allowed_web_origins;
