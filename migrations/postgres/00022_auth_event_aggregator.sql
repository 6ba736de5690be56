-- +goose Up
-- Statistics off the sign-in's path: an auth event is written pending and
-- a background aggregator (store.RollUpPending, one replica at a time)
-- counts it into the rollups and clears the flag in one transaction, so
-- every event is counted exactly once. Events recorded before this
-- migration were rolled up when they were written.
ALTER TABLE auth_events ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX auth_events_pending ON auth_events (at) WHERE pending;

-- +goose Down
DROP INDEX auth_events_pending;
ALTER TABLE auth_events DROP COLUMN pending;
