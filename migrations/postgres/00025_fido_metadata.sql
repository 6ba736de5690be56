-- +goose Up
-- FIDO Metadata Service (authn/passkey/mdsfetch.go): the last good MDS3
-- BLOB, fetched from its URL on a schedule and verified, kept here so
-- every replica uses the same copy; the row also lets one replica at a
-- time claim a fetch round (attempts is the compare-and-swap counter).
CREATE TABLE fido_metadata (
    id            TEXT NOT NULL PRIMARY KEY,
    source        TEXT NOT NULL DEFAULT '',
    blob          TEXT NOT NULL DEFAULT '',
    serial        BIGINT NOT NULL DEFAULT 0,
    next_update   TIMESTAMPTZ,
    fetched_at    TIMESTAMPTZ,
    checked_at    TIMESTAMPTZ,
    attempt_at    TIMESTAMPTZ,
    attempts      BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    last_error_at TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL
);
-- A credential whose model the metadata reports compromised or revoked,
-- and whether it was suspended for it (policy suspend_compromised_passkeys).
ALTER TABLE webauthn_credentials ADD COLUMN compromised_status TEXT NOT NULL DEFAULT '';
ALTER TABLE webauthn_credentials ADD COLUMN compromised_at TIMESTAMPTZ;
ALTER TABLE webauthn_credentials ADD COLUMN suspended_at TIMESTAMPTZ;
-- The console's notice and the metadata check read only the few flagged
-- credentials; the check reads the distinct models.
CREATE INDEX webauthn_credentials_compromised ON webauthn_credentials (compromised_status) WHERE compromised_status <> '';
CREATE INDEX webauthn_credentials_aaguid ON webauthn_credentials (aaguid);

-- +goose Down
DROP INDEX webauthn_credentials_aaguid;
DROP INDEX webauthn_credentials_compromised;
ALTER TABLE webauthn_credentials DROP COLUMN suspended_at;
ALTER TABLE webauthn_credentials DROP COLUMN compromised_at;
ALTER TABLE webauthn_credentials DROP COLUMN compromised_status;
DROP TABLE fido_metadata;
