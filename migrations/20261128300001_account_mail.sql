-- Account recovery by email (issue 16): verified addresses, single-use
-- tokens (only their hash is kept), the mail outbox the worker sends from,
-- and the addresses Transactional Email reported as bouncing.

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

ALTER TYPE session_revocation ADD VALUE IF NOT EXISTS 'password_reset';
ALTER TYPE session_revocation ADD VALUE IF NOT EXISTS 'password_changed';

CREATE TYPE mail_kind AS ENUM (
    'verify_email',        -- sign-up and resend: a link that verifies the address
    'password_reset',      -- forgot: a link that sets a new password
    'password_changed',    -- notice after a reset or a change
    'email_change',        -- to the new address: a link that makes the change
    'email_change_notice'  -- to the old address: a change was asked for
);

CREATE TYPE mail_status AS ENUM (
    'pending',     -- queued, not sent yet (retried by the API's sweep)
    'sent',
    'failed',      -- the mail server refused it for good
    'suppressed',  -- the address bounced or complained: never sent
    'expired'      -- still unsent after a day: dropped
);

-- One row per mail to send. The worker sends it; tokens are minted at
-- sending time, so no plaintext token is ever stored.
CREATE TABLE mail_outbox (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        mail_kind NOT NULL,
    recipient   text NOT NULL CONSTRAINT mail_outbox_recipient_length CHECK (char_length(recipient) BETWEEN 3 AND 254),
    -- email_change_notice: the address asked for (shown masked).
    new_email   text,
    status      mail_status NOT NULL DEFAULT 'pending',
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    queued_at   timestamptz,
    sent_at     timestamptz,
    CONSTRAINT mail_outbox_sent_complete CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

CREATE INDEX mail_outbox_pending ON mail_outbox (queued_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_by_user ON mail_outbox (user_id);

CREATE TYPE account_token_purpose AS ENUM ('verify_email', 'password_reset', 'email_change');

-- The SHA-256 of each emailed token. `email` is the address the token
-- proves: the account's address when sent (verify, reset), the new one
-- (email change).
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    mail_id    uuid NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    account_token_purpose NOT NULL,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT account_tokens_mail_key UNIQUE (mail_id)
);

CREATE INDEX account_tokens_live_by_user ON account_tokens (user_id, purpose) WHERE used_at IS NULL;

-- Addresses never to send to again: Transactional Email reported a hard
-- bounce or a complaint (through Topics and Events). Lower-cased.
CREATE TABLE mail_suppressions (
    address    text PRIMARY KEY CONSTRAINT mail_suppressions_lower CHECK (address = lower(address)),
    reason     text NOT NULL CONSTRAINT mail_suppressions_reason CHECK (reason IN ('bounce', 'complaint')),
    created_at timestamptz NOT NULL DEFAULT now()
);
