-- Issue 28: finding people by handle (prefix, or a typo away) and by
-- display name (any word of it, a typo away), with trigram indexes.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may
-- create it, and Scaleway's managed PostgreSQL offers it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_handle_trgm ON users USING gin (handle gin_trgm_ops);
CREATE INDEX users_display_name_trgm ON users USING gin (lower(display_name) gin_trgm_ops);
