-- +goose Up
-- Token exchange (RFC 8693, oidc/exchange.go): the resource audiences a
-- client may exchange tokens for (its targets), and the audiences of the
-- subject tokens it may present besides its own client id (the APIs it
-- serves). Both JSON lists; '[]' for a client that does not exchange.
ALTER TABLE clients ADD COLUMN token_exchange_resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN token_exchange_subject_audiences TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE clients DROP COLUMN token_exchange_subject_audiences;
ALTER TABLE clients DROP COLUMN token_exchange_resources;
