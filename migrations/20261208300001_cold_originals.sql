-- Issue 30: originals move to a colder storage class once processed, and a
-- read of an original that needs a restore first (Glacier) waits for it with
-- a recorded state rather than a loop.

-- The class the worker last moved the original to (x-amz-storage-class).
ALTER TABLE media ADD COLUMN original_class text NOT NULL DEFAULT 'STANDARD'
    CONSTRAINT media_original_class_known CHECK (original_class IN ('STANDARD', 'ONEZONE_IA', 'GLACIER'));

-- A job that needs an original being restored: queued again (its body as the
-- queue carries it) once a HEAD finds the original readable.
CREATE TABLE media_original_restores (
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    job text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    checks integer NOT NULL DEFAULT 0,
    next_check_at timestamptz NOT NULL,
    PRIMARY KEY (media_id, job)
);

CREATE INDEX media_original_restores_due ON media_original_restores (next_check_at);
