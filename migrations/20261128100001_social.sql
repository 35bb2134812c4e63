-- The social layer: profiles, follows, blocks, posts, likes, comments,
-- notifications, reports, moderation and account deletion.
--
-- Counters (posts, followers, likes, comments) are kept by triggers in the
-- transaction that changes the rows, so every path that inserts or deletes,
-- cascades included, keeps them exact, and concurrent changes serialise on
-- the counted row.

ALTER TYPE session_revocation ADD VALUE 'suspended';
ALTER TYPE session_revocation ADD VALUE 'account_deleted';

ALTER TABLE users
    ADD COLUMN bio             text NOT NULL DEFAULT '' CONSTRAINT users_bio_length CHECK (char_length(bio) <= 300),
    ADD COLUMN avatar_media_id uuid REFERENCES media (id) ON DELETE SET NULL,
    ADD COLUMN posts_count     integer NOT NULL DEFAULT 0,
    ADD COLUMN followers_count integer NOT NULL DEFAULT 0,
    ADD COLUMN following_count integer NOT NULL DEFAULT 0,
    -- Hidden by a moderator; undone by unsuspend.
    ADD COLUMN suspended_at    timestamptz,
    -- Deleted by its owner: invisible at once, purged by a queued job.
    ADD COLUMN deleted_at      timestamptz;

CREATE TABLE follows (
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);

-- Followers and following lists, newest first (keyset on created_at, id).
CREATE INDEX follows_by_followee ON follows (followee_id, created_at DESC, follower_id DESC);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at DESC, followee_id DESC);

CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT blocks_not_self CHECK (blocker_id <> blocked_id)
);

CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);

-- Post ids are UUIDv7: ordering by id is ordering by creation time, so one
-- column is both the keyset cursor and the timeline member.
CREATE TABLE posts (
    id            uuid PRIMARY KEY,
    author_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    caption       text NOT NULL DEFAULT '' CONSTRAINT posts_caption_length CHECK (char_length(caption) <= 2200),
    like_count    integer NOT NULL DEFAULT 0,
    comment_count integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    taken_down_at timestamptz
);

-- An author's posts newest first: the profile grid, and each followee's
-- branch of the feed's SQL form, as an index-only scan (taken_down_at is
-- included so that the visibility filter needs no heap access).
CREATE INDEX posts_by_author ON posts (author_id, id DESC) INCLUDE (taken_down_at);

CREATE TABLE post_media (
    post_id  uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    position smallint NOT NULL CONSTRAINT post_media_position CHECK (position BETWEEN 0 AND 9),
    PRIMARY KEY (post_id, position),
    -- A photo belongs to one post at most.
    CONSTRAINT post_media_media_key UNIQUE (media_id)
);

CREATE TABLE likes (
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);

CREATE INDEX likes_by_user ON likes (user_id, post_id);

CREATE TABLE comments (
    id         uuid PRIMARY KEY,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       text NOT NULL CONSTRAINT comments_text_length CHECK (char_length(text) BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A post's comments, oldest first.
CREATE INDEX comments_by_post ON comments (post_id, id);
CREATE INDEX comments_by_author ON comments (author_id);

CREATE TYPE notification_type AS ENUM ('follow', 'like', 'comment');

CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    recipient_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         notification_type NOT NULL,
    post_id      uuid REFERENCES posts (id) ON DELETE CASCADE,
    comment_id   uuid REFERENCES comments (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    CONSTRAINT notifications_not_self CHECK (recipient_id <> actor_id),
    CONSTRAINT notifications_post_shape CHECK ((type = 'follow') = (post_id IS NULL)),
    CONSTRAINT notifications_comment_shape CHECK ((type = 'comment') = (comment_id IS NOT NULL))
);

CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id DESC);
CREATE INDEX notifications_by_actor ON notifications (actor_id);
-- Like, unlike, like again: one notification, not three.
CREATE UNIQUE INDEX notifications_once ON notifications (recipient_id, actor_id, type, post_id)
    NULLS NOT DISTINCT WHERE type <> 'comment';

CREATE TYPE report_target AS ENUM ('post', 'comment', 'user');

CREATE TABLE reports (
    id          uuid PRIMARY KEY,
    reporter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_type report_target NOT NULL,
    target_id   uuid NOT NULL,
    reason      text NOT NULL CONSTRAINT reports_reason_length CHECK (char_length(reason) BETWEEN 1 AND 1000),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reports_by_reporter ON reports (reporter_id);
CREATE INDEX reports_by_target ON reports (target_id);

-- A retried create returns the first result. The row is inserted first in
-- the creating transaction, so a concurrent retry waits for it, then reads
-- what it stored.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status_code  smallint NOT NULL DEFAULT 0,
    resource_id  uuid,
    response     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Accounts waiting for their purge job, for the sweep that re-queues lost ones.
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE FUNCTION count_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET following_count = following_count + 1 WHERE id = NEW.follower_id;
        UPDATE users SET followers_count = followers_count + 1 WHERE id = NEW.followee_id;
    ELSE
        UPDATE users SET following_count = following_count - 1 WHERE id = OLD.follower_id;
        UPDATE users SET followers_count = followers_count - 1 WHERE id = OLD.followee_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER follows_count AFTER INSERT OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION count_follow();

CREATE FUNCTION count_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET posts_count = posts_count + 1 WHERE id = NEW.author_id;
    ELSE
        UPDATE users SET posts_count = posts_count - 1 WHERE id = OLD.author_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER posts_count AFTER INSERT OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION count_post();

CREATE FUNCTION count_like() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET like_count = like_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET like_count = like_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER likes_count AFTER INSERT OR DELETE ON likes
    FOR EACH ROW EXECUTE FUNCTION count_like();

CREATE FUNCTION count_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET comment_count = comment_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET comment_count = comment_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER comments_count AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION count_comment();
