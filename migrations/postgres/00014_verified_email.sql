-- +goose Up
-- Verified emails for passkey sign-ups (authn/verify_email.go).
-- A client may require a proven address of everyone who signs in to it,
-- whatever the global policy says.
ALTER TABLE clients ADD COLUMN require_verified_email BOOLEAN NOT NULL DEFAULT FALSE;
-- The sign-in a verification code holds until the address is proven
-- (JSON: amr, acr, the passkey that survives the proof, …); '' for the
-- other passlinks.
ALTER TABLE passlinks ADD COLUMN pending_login TEXT NOT NULL DEFAULT '';
-- Users whose address was unproven when this migration ran are asked once
-- to prove it at their next sign-in, even where the policy does not
-- require it (they may skip then).
ALTER TABLE users ADD COLUMN email_verification_due BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET email_verification_due = TRUE WHERE email_verified = FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN email_verification_due;
ALTER TABLE passlinks DROP COLUMN pending_login;
ALTER TABLE clients DROP COLUMN require_verified_email;
