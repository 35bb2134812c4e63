-- Push notifications (issue 27): the devices an app registers, each bound
-- to the session that registered it; the user's push settings; and the push
-- outbox the worker sends from, written in the transaction that writes the
-- notification.

CREATE TYPE push_provider AS ENUM ('apns', 'fcm');
CREATE TYPE push_environment AS ENUM ('production', 'sandbox');
CREATE TYPE push_audience AS ENUM ('everyone', 'following', 'off');
CREATE TYPE push_status AS ENUM (
    'pending',   -- written, not sent yet (re-queued by the API's sweep)
    'sent',
    'failed',    -- the provider refused it for good
    'dropped',   -- no longer due at send time (undone, blocked, settings,
                 -- device gone, or no credentials for its provider)
    'expired'    -- still unsent after a day
);

CREATE TABLE push_devices (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The session that registered it: ending the session removes it.
    session_id      uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    -- The app's own id of its installation, chosen once per install.
    installation_id text NOT NULL CONSTRAINT push_devices_installation_length CHECK (char_length(installation_id) BETWEEN 1 AND 128),
    provider        push_provider NOT NULL,
    token           text NOT NULL CONSTRAINT push_devices_token_length CHECK (char_length(token) BETWEEN 1 AND 4096),
    environment     push_environment NOT NULL DEFAULT 'production',
    app_version     text CONSTRAINT push_devices_app_version_length CHECK (char_length(app_version) <= 64),
    locale          text CONSTRAINT push_devices_locale_length CHECK (char_length(locale) <= 35),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT push_devices_installation_once UNIQUE (user_id, installation_id),
    -- A token reaches one phone: registered again elsewhere, it moves.
    CONSTRAINT push_devices_token_once UNIQUE (provider, token)
);

CREATE INDEX push_devices_by_user ON push_devices (user_id);
CREATE INDEX push_devices_by_session ON push_devices (session_id);

-- Sessions are revoked, not deleted: every revocation (sign-out, revoke,
-- password reset or change, account deletion, suspension, a replayed
-- refresh token) removes the session's devices here, whichever path did it.
CREATE FUNCTION push_devices_follow_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM push_devices WHERE session_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER push_devices_end_with_session
    AFTER UPDATE OF revoked_at ON auth_sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION push_devices_follow_session();

-- One row per kind the user changed; a missing row is 'everyone'.
CREATE TABLE push_settings (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind     text NOT NULL CONSTRAINT push_settings_kind CHECK (kind IN
                 ('follow', 'like', 'comment', 'mention', 'follow_request', 'story_reaction', 'moderation')),
    audience push_audience NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- One row per push to one device.
CREATE TABLE push_outbox (
    id              uuid PRIMARY KEY,
    device_id       uuid NOT NULL REFERENCES push_devices (id) ON DELETE CASCADE,
    -- The newest notification it tells of; a block deletes the notification,
    -- and with it the push.
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    recipient_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id        uuid NOT NULL,
    kind            text NOT NULL,
    -- Pushes with one key coalesce: one pending row, and the phone shows the
    -- newest (apns-collapse-id, FCM collapse_key). Likes of one post.
    collapse_key    text,
    -- Bumped when another notification is coalesced into a pending row, so
    -- that a delivery in flight does not mark the newer one sent.
    generation      integer NOT NULL DEFAULT 0,
    status          push_status NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    queued_at       timestamptz,
    -- The provider's back-off: not sent again before this.
    next_attempt_at timestamptz,
    sending_until   timestamptz,
    sent_at         timestamptz,
    CONSTRAINT push_outbox_sent_complete CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

CREATE UNIQUE INDEX push_outbox_coalesce ON push_outbox (device_id, collapse_key)
    WHERE status = 'pending' AND collapse_key IS NOT NULL;
CREATE INDEX push_outbox_pending ON push_outbox (created_at) WHERE status = 'pending';
CREATE INDEX push_outbox_unqueued ON push_outbox (actor_id) WHERE status = 'pending' AND queued_at IS NULL;
CREATE INDEX push_outbox_by_notification ON push_outbox (notification_id);
