-- +goose Up
-- Every auth event is announced on the change feed (the console's live
-- statistics on every replica). The announcement was a separate
-- `SELECT pg_notify(…)` round trip in the recording transaction; a trigger
-- sends the same notification from inside the INSERT, in the same
-- transaction (delivered at commit, never for a rollback). The channel is
-- the schema's, as the store computes it (store.changeChannel): the first
-- 16 hex digits of the SHA-256 of current_schema().
-- +goose StatementBegin
CREATE FUNCTION sesame_announce_auth_event() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('sesame_changes_' || substr(encode(sha256(convert_to(current_schema(), 'UTF8')), 'hex'), 1, 16),
                    'auth_event:' || NEW.id);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER auth_events_announce AFTER INSERT ON auth_events
  FOR EACH ROW EXECUTE FUNCTION sesame_announce_auth_event();

-- +goose Down
DROP TRIGGER auth_events_announce ON auth_events;
DROP FUNCTION sesame_announce_auth_event();
