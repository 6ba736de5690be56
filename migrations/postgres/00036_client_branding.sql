-- +goose Up
-- A client's own brand colours (#rrggbb, '' for the global branding's),
-- shown on the hosted pages it asks for (internal/branding).
ALTER TABLE clients ADD COLUMN primary_color TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN accent_color TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN accent_color;
ALTER TABLE clients DROP COLUMN primary_color;
