-- Recent revocations are copied back to Redis when it has lost them
-- (a restart, a flush): find them without reading every session ever made.
CREATE INDEX auth_sessions_recently_revoked ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
