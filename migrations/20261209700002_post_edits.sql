-- Issue 28, caption edits: when a post's caption last changed, and every
-- caption it had before, for moderation (`GET /v1/admin/posts/{id}/edits`).
-- The history goes with its post: deleted with it (the author's deletion,
-- the account purge), kept with it while a legal hold keeps the post.
ALTER TABLE posts ADD COLUMN edited_at timestamptz;

CREATE TABLE post_edits (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- The caption this edit replaced.
    caption    text NOT NULL,
    edited_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX post_edits_by_post ON post_edits (post_id, id);
