-- +goose Up
-- A client's own AAGUID allow list (a JSON list of authenticator models;
-- [] for none): its sign-ins and sign-ups need an attested passkey of one
-- of them (and of the global list, when there is one). Its mode is
-- "enforce" (refused) or "grace" (accepted, warned and recorded).
ALTER TABLE clients ADD COLUMN aaguid_allow TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN aaguid_allow_mode TEXT NOT NULL DEFAULT '';
-- The attested authenticator model of the passkey a login session began
-- with ('' for other methods, or a passkey enrolled without attestation):
-- a session meets an app's allow list only with one of its models.
ALTER TABLE login_sessions ADD COLUMN aaguid TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE login_sessions DROP COLUMN aaguid;
ALTER TABLE clients DROP COLUMN aaguid_allow_mode;
ALTER TABLE clients DROP COLUMN aaguid_allow;
