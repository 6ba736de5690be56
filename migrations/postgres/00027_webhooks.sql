-- +goose Up
-- Webhooks (issue 14, internal/webhook, docs/webhooks.md): endpoints an
-- admin registers, and the deliveries queued for them in the transaction
-- that records an audit entry or an auth event.
CREATE TABLE webhook_endpoints (
    id              TEXT NOT NULL PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- The subscribed event types, space-separated.
    event_types     TEXT NOT NULL,
    -- The signing secret, encrypted with a key derived from the system
    -- secret (AES-256-GCM): it must be recovered to sign.
    secret_sealed   TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    disabled_at     TIMESTAMPTZ,
    -- The first failed attempt since the last success (auto-disable).
    failing_since   TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

-- One message to one endpoint (the outbox lease protocol,
-- internal/outbox). id is the message's webhook-id, the same on every
-- attempt and on a manual redelivery.
CREATE TABLE webhook_deliveries (
    id              TEXT NOT NULL PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    locked_until    TIMESTAMPTZ,
    response_code   INTEGER NOT NULL DEFAULT 0,
    latency_ms      INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_status_next_attempt_at ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint_created_at ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_created_at ON webhook_deliveries (created_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
