-- Uploaded photos and their processed variants.

CREATE TYPE media_status AS ENUM ('pending', 'queued', 'processing', 'ready', 'failed');

CREATE TABLE media (
    id                    uuid PRIMARY KEY,
    owner_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status                media_status NOT NULL DEFAULT 'pending',
    declared_content_type text NOT NULL,
    declared_bytes        bigint NOT NULL CONSTRAINT media_declared_bytes_positive CHECK (declared_bytes > 0),
    original_key          text NOT NULL,
    width                 integer,
    height                integer,
    blurhash              text,
    error_code            text,
    error_message         text,
    attempts              integer NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT media_failure_has_code CHECK ((status = 'failed') = (error_code IS NOT NULL)),
    CONSTRAINT media_ready_has_dimensions CHECK (status <> 'ready' OR (width > 0 AND height > 0))
);

CREATE INDEX media_by_owner ON media (owner_id, created_at DESC);

CREATE TABLE media_variants (
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    name     text NOT NULL CONSTRAINT media_variants_name CHECK (name IN ('thumb', 'small', 'medium', 'large')),
    format   text NOT NULL CONSTRAINT media_variants_format CHECK (format IN ('webp', 'jpeg')),
    width    integer NOT NULL CHECK (width > 0),
    height   integer NOT NULL CHECK (height > 0),
    bytes    bigint NOT NULL CHECK (bytes > 0),
    key      text NOT NULL,
    PRIMARY KEY (media_id, name, format)
);

-- Queue messages that named no media we could act on (unparseable bodies):
-- recorded once and acknowledged, never retried.
CREATE TABLE media_job_failures (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    body          text NOT NULL,
    error_code    text NOT NULL,
    error_message text NOT NULL
);
