-- Issue 29, perceptual hash matching. Every photo's PDQ hash (256 bits, as the 32 bytes of
-- Meta's hex form) and quality (0..100), written by the media job.
ALTER TABLE media
    ADD COLUMN pdq bytea CONSTRAINT media_pdq_256_bits CHECK (octet_length(pdq) = 32),
    ADD COLUMN pdq_quality smallint CONSTRAINT media_pdq_quality CHECK (pdq_quality BETWEEN 0 AND 100);

-- Hashes no photo may be published near. `bits` is the same hash as a bit string, so that a
-- match is bit_count(bits # candidate) <= threshold in one linear scan (the list is bounded:
-- README, "Perceptual hash matching").
CREATE TYPE blocked_hash_source AS ENUM ('admin', 'takedown', 'quarantine');
CREATE TABLE blocked_hashes (
    id         uuid PRIMARY KEY,
    hash       bytea NOT NULL CONSTRAINT blocked_hashes_256_bits CHECK (octet_length(hash) = 32),
    bits       bit(256) GENERATED ALWAYS AS (('x' || encode(hash, 'hex'))::bit(256)) STORED,
    reason     text NOT NULL CONSTRAINT blocked_hashes_reason CHECK (length(reason) BETWEEN 1 AND 1000),
    source     blocked_hash_source NOT NULL,
    -- Where an automatic entry came from: the taken-down post (its reversal removes the entry)
    -- or the confirmed photo. No foreign keys: the entry outlives both.
    post_id    uuid,
    media_id   uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT blocked_hashes_hash_key UNIQUE (hash)
);
CREATE INDEX blocked_hashes_by_post ON blocked_hashes (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX blocked_hashes_newest ON blocked_hashes (created_at DESC, id DESC);

-- Photos that matched the list: withheld and unusable until a moderator releases them
-- (released) or confirms the match (confirmed: gone for every use, like a taken-down photo).
-- The matched entry is copied: removing it from the list does not blank the review.
CREATE TYPE quarantine_state AS ENUM ('pending', 'released', 'confirmed');
CREATE TABLE media_quarantine (
    media_id        uuid PRIMARY KEY REFERENCES media (id) ON DELETE CASCADE,
    blocked_hash_id uuid REFERENCES blocked_hashes (id) ON DELETE SET NULL,
    matched_hash    bytea NOT NULL,
    matched_reason  text NOT NULL,
    distance        smallint NOT NULL CONSTRAINT media_quarantine_distance CHECK (distance BETWEEN 0 AND 256),
    state           quarantine_state NOT NULL DEFAULT 'pending',
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    CONSTRAINT media_quarantine_decided CHECK ((state = 'pending') = (decided_at IS NULL))
);
CREATE INDEX media_quarantine_pending ON media_quarantine (created_at DESC, media_id DESC) WHERE state = 'pending';
-- The reconciler of withheld variants starts from these few rows, never from all media.
CREATE INDEX media_quarantine_held ON media_quarantine (media_id) WHERE state <> 'released';
