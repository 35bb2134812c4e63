-- Issue 25, finding 2. Where a photo's variant objects are: under the public
-- prefix (variants/) or moved out of it (withheld/) while its post is taken
-- down or its owner suspended or deleted. The reconciler moves them to match.
ALTER TABLE media ADD COLUMN variants_withheld boolean NOT NULL DEFAULT false;
CREATE INDEX media_variants_withheld ON media (id) WHERE variants_withheld;

-- Paths the CDN must forget (deleted or withheld variants), written in the
-- transaction that decides it and sent to Edge Services' purge API by the
-- API's chores.
CREATE TABLE cdn_purges (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path            text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
CREATE INDEX cdn_purges_due ON cdn_purges (next_attempt_at);

-- The reconciler starts from the few taken-down posts and suspended or
-- deleted accounts, never from all media.
CREATE INDEX posts_taken_down ON posts (id) WHERE taken_down_at IS NOT NULL;
CREATE INDEX users_hidden ON users (id) WHERE suspended_at IS NOT NULL OR deleted_at IS NOT NULL;
