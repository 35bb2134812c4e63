-- The reconciler queues again a media whose job the queue lost, a bounded
-- number of times, then fails it; `requeues` counts those times.
ALTER TABLE media ADD COLUMN requeues integer NOT NULL DEFAULT 0;

CREATE INDEX media_unsettled_since ON media (updated_at)
    WHERE status IN ('queued', 'processing');
