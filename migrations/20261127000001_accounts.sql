-- Accounts and device sessions.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    handle        text NOT NULL CONSTRAINT users_handle_format CHECK (handle ~ '^[a-z0-9_]{3,30}$'),
    email         text NOT NULL CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
    display_name  text CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 50),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_handle_key UNIQUE (handle)
);

-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TYPE session_revocation AS ENUM ('logout', 'revoked_by_user', 'refresh_token_reuse');

-- One row per signed-in device.
CREATE TABLE auth_sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason session_revocation,
    CONSTRAINT auth_sessions_revocation_complete CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);

CREATE INDEX auth_sessions_active_by_user ON auth_sessions (user_id, created_at DESC) WHERE revoked_at IS NULL;

-- Every refresh token ever issued in a session, by hash. A used token that
-- comes back is a stolen one (RFC 9700 section 4.14.2).
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id, issued_at);
