-- +goose Up
-- Assurance levels (models/acr.go): a credential whose attestation chained
-- to FIDO metadata at enrolment, with a FIDO certification, can reach the
-- attested level (urn:sesame:acr:passkey:attested) while its model's
-- status stays acceptable.
ALTER TABLE webauthn_credentials ADD COLUMN attested BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE webauthn_credentials DROP COLUMN attested;
