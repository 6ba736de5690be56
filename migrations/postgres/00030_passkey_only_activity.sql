-- +goose Up
-- The adoption funnel's last stage (models/store/funnel.go): users whose
-- sign-ins in the last 30 days were all passkeys. The aggregator keeps
-- each user's last passkey sign-in (or sign-up) and last sign-in another
-- way beside the last active day, so the funnel reads this table instead
-- of a month of raw auth events. Existing users get both from their events.
ALTER TABLE user_last_active ADD COLUMN last_passkey_at TIMESTAMPTZ;
ALTER TABLE user_last_active ADD COLUMN last_other_at TIMESTAMPTZ;
UPDATE user_last_active SET
  last_passkey_at = (SELECT MAX(e.at) FROM auth_events e WHERE e.user_id = user_last_active.user_id
    AND e.result = 'success' AND e.method = 'passkey' AND e.event IN ('login', 'register')),
  last_other_at = (SELECT MAX(e.at) FROM auth_events e WHERE e.user_id = user_last_active.user_id
    AND e.result = 'success' AND e.event = 'login' AND e.method <> 'passkey');

-- +goose Down
ALTER TABLE user_last_active DROP COLUMN last_other_at;
ALTER TABLE user_last_active DROP COLUMN last_passkey_at;
