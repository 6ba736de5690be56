-- +goose Up
-- PostgreSQL only (a trigger announces each auth event on the change
-- feed); on SQLite the store delivers the announcement in-process after
-- the commit. Versions stay the same on both dialects.
SELECT 1;

-- +goose Down
SELECT 1;
