-- +goose Up
-- The console's everyday views (console/users_admin.go, ui_clients.go):
-- a user's sign-in history filtered and paged by time, and each client's
-- last use and active users, read per user or per client without a scan
-- of every event.
CREATE INDEX auth_events_user_at ON auth_events (user_id, at);
CREATE INDEX auth_events_client_at ON auth_events (client_id, at);

-- +goose Down
DROP INDEX auth_events_client_at;
DROP INDEX auth_events_user_at;
