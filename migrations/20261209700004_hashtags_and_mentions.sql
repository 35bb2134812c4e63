-- Issue 28, hashtags and mentions: parsed once when a caption or comment is
-- written. The entities (hashtags and resolved mentions, with their
-- ranges in UTF-16 code units) are kept beside the text, as rendered.
ALTER TABLE posts ADD COLUMN caption_entities jsonb NOT NULL DEFAULT '[]';
ALTER TABLE comments ADD COLUMN entities jsonb NOT NULL DEFAULT '[]';

-- A hashtag by its key: NFKC, lower-cased, NFKC again (see
-- src/social/entities.rs). `post_count` counts the posts that carry it,
-- kept by the trigger below in the transaction that tags or untags.
CREATE TABLE hashtags (
    id          uuid PRIMARY KEY,
    tag         text NOT NULL CONSTRAINT hashtags_tag_key UNIQUE
                CONSTRAINT hashtags_tag_length CHECK (char_length(tag) BETWEEN 1 AND 100),
    post_count  integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Search by prefix: `tag LIKE 'pre%'` needs byte-wise ordering.
CREATE INDEX hashtags_by_prefix ON hashtags (tag text_pattern_ops);

-- A post's hashtags. Post ids are UUIDv7, so the primary key reads a
-- hashtag's posts newest first, keyset-paged by post id.
CREATE TABLE post_hashtags (
    hashtag_id  uuid NOT NULL REFERENCES hashtags (id) ON DELETE CASCADE,
    post_id     uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (hashtag_id, post_id)
);

CREATE INDEX post_hashtags_by_post ON post_hashtags (post_id);

CREATE FUNCTION count_hashtag_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE hashtags SET post_count = post_count + 1 WHERE id = NEW.hashtag_id;
    ELSE
        UPDATE hashtags SET post_count = post_count - 1 WHERE id = OLD.hashtag_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER post_hashtags_count AFTER INSERT OR DELETE ON post_hashtags
    FOR EACH ROW EXECUTE FUNCTION count_hashtag_posts();

-- Hashtags a user follows into their home feed. Deleted with the account
-- (the purge reads ON DELETE CASCADE references to users).
CREATE TABLE hashtag_follows (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hashtag_id  uuid NOT NULL REFERENCES hashtags (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, hashtag_id)
);

CREATE INDEX hashtag_follows_by_hashtag ON hashtag_follows (hashtag_id);

-- A `mention` names its post, and its comment when it was in one.
ALTER TABLE notifications DROP CONSTRAINT notifications_comment_shape;
ALTER TABLE notifications ADD CONSTRAINT notifications_comment_shape CHECK (
    CASE type WHEN 'comment' THEN comment_id IS NOT NULL
              WHEN 'mention' THEN true
              ELSE comment_id IS NULL END);
