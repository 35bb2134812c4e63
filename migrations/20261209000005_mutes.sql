-- Issue 28, mutes: the muted user vanishes from the muter's home feed,
-- story tray and comments, and from their notifications unless only posts
-- are muted; for a while or until unmuted. Nobody else can read them.
CREATE TABLE mutes (
    muter_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    muted_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notifications boolean NOT NULL DEFAULT true,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (muter_id, muted_id),
    CONSTRAINT mutes_not_self CHECK (muter_id <> muted_id)
);
CREATE INDEX mutes_by_muted ON mutes (muted_id);
CREATE INDEX mutes_by_expiry ON mutes (expires_at) WHERE expires_at IS NOT NULL;
