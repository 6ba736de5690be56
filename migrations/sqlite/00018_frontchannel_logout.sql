-- +goose Up
-- OpenID Connect Front-Channel Logout 1.0 (issue 13, oidc/logout.go): the
-- page a client's frontend loads in a hidden iframe of Sesame's logout
-- page to end its own session ('' for none), and whether it needs the iss
-- and sid query parameters.
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE clients DROP COLUMN frontchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN frontchannel_logout_uri;
