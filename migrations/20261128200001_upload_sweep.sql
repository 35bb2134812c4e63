-- Objects to delete once nothing can write them any more: the original of
-- an upload deleted (or expired) while its presigned PUT URL may still
-- work. A PUT after DELETE recreates an object no row names; the sweeper
-- deletes it once the URL has expired.
CREATE TABLE media_object_tombstones (
    key         text PRIMARY KEY,
    purge_after timestamptz NOT NULL
);

CREATE INDEX media_object_tombstones_due ON media_object_tombstones (purge_after);

-- Uploads never completed, oldest first, for the sweeper and the per-user cap.
CREATE INDEX media_pending_by_age ON media (created_at) WHERE status = 'pending';
CREATE INDEX media_pending_by_owner ON media (owner_id, created_at) WHERE status = 'pending';
