-- Data exports (GDPR Art. 20, issue 29): one row per export a user asked
-- for. The ZIP lives at `object_key` (under `exports/<user>/`, a prefix no
-- CDN serves) until the row is a week old; the chores delete both then,
-- and the account purge deletes every export of the account.
CREATE TABLE data_exports (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending'
        CONSTRAINT data_exports_status CHECK (status IN ('pending', 'waiting', 'ready', 'failed')),
    object_key text,
    bytes bigint,
    error_code text,
    created_at timestamptz NOT NULL DEFAULT now(),
    queued_at timestamptz NOT NULL DEFAULT now(),
    ready_at timestamptz,
    -- One builder at a time: the process building it holds it until then.
    building_until timestamptz,
    CONSTRAINT data_exports_ready_has_object CHECK (status <> 'ready' OR object_key IS NOT NULL)
);
CREATE INDEX data_exports_by_user ON data_exports (user_id, created_at DESC);
CREATE INDEX data_exports_by_age ON data_exports (created_at);

-- The export's mail carries a presigned link, not a token: the outbox row
-- holds it until the mail is settled, then forgets it.
ALTER TYPE mail_kind ADD VALUE IF NOT EXISTS 'data_export';
ALTER TABLE mail_outbox ADD COLUMN link text;
