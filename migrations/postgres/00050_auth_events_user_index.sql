-- +goose Up
-- auth_events_user_at (user_id, at) answers every lookup by user_id alone
-- (its leading column), a user's erasure included; the index on user_id
-- only repeated it, and every sign-in's event paid for both (and again
-- when the aggregator clears the event's pending flag).
DROP INDEX auth_events_user_id;

-- +goose Down
CREATE INDEX auth_events_user_id ON auth_events (user_id);
