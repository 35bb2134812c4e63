-- Issue 26, stories: one photo for 24 hours, to the author's followers or
-- close friends; who saw it, one reaction per viewer; highlights that keep
-- chosen stories on the profile. Expiry is checked on every read; the
-- sweep (src/social/stories/sweep.rs) deletes what no read can show.

CREATE TYPE story_audience AS ENUM ('followers', 'close_friends');

CREATE TABLE stories (
    id            uuid PRIMARY KEY,
    author_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- A photo is in one post or one story; deleting it deletes the story.
    media_id      uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE
                  CONSTRAINT stories_media_once UNIQUE,
    caption       text NOT NULL DEFAULT ''
                  CONSTRAINT stories_caption_length CHECK (char_length(caption) <= 200),
    audience      story_audience NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    -- Deleted by the author while a report keeps it as evidence.
    deleted_at    timestamptz,
    taken_down_at timestamptz,
    -- In at least one highlight: kept past its expiry (highlights.rs keeps
    -- it up to date in the transaction that changes a highlight).
    highlighted   boolean NOT NULL DEFAULT false,
    CONSTRAINT stories_expire_after_creation CHECK (expires_at > created_at)
);

-- A user's stories by age: the tray, the profile's list, the trust limits.
CREATE INDEX stories_by_author ON stories (author_id, expires_at);
-- The sweep's scans: what expired and nothing keeps, what was removed.
CREATE INDEX stories_to_sweep ON stories (expires_at) WHERE NOT highlighted;
CREATE INDEX stories_removed ON stories (id) WHERE deleted_at IS NOT NULL OR taken_down_at IS NOT NULL;

-- Where a story photo's variants live: out of `variants/` (the prefix a
-- CDN may serve) as soon as the photo becomes a story's.
ALTER TABLE media ADD COLUMN variants_private boolean NOT NULL DEFAULT false;

-- The owner's list; nobody else reads it.
CREATE TABLE close_friends (
    owner_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    friend_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, friend_id),
    CONSTRAINT close_friends_not_self CHECK (owner_id <> friend_id)
);
CREATE INDEX close_friends_by_friend ON close_friends (friend_id);

-- Kept 48 hours (the sweep deletes older ones): a story is shown 24.
CREATE TABLE story_views (
    story_id  uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    viewer_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    viewed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (story_id, viewer_id)
);
CREATE INDEX story_views_by_viewer ON story_views (viewer_id);
CREATE INDEX story_views_by_age ON story_views (viewed_at);
-- The author's list of viewers, newest first.
CREATE INDEX story_views_by_time ON story_views (story_id, viewed_at DESC, viewer_id);

CREATE TABLE story_reactions (
    story_id   uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    reactor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      text NOT NULL CONSTRAINT story_reactions_emoji_length CHECK (octet_length(emoji) BETWEEN 1 AND 32),
    reacted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (story_id, reactor_id)
);
CREATE INDEX story_reactions_by_reactor ON story_reactions (reactor_id);

CREATE TABLE story_highlights (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text NOT NULL CONSTRAINT story_highlights_title_length CHECK (char_length(title) BETWEEN 1 AND 40),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX story_highlights_by_owner ON story_highlights (owner_id, id);

CREATE TABLE story_highlight_items (
    highlight_id uuid NOT NULL REFERENCES story_highlights (id) ON DELETE CASCADE,
    story_id     uuid NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    position     smallint NOT NULL,
    PRIMARY KEY (highlight_id, story_id),
    CONSTRAINT story_highlight_items_position UNIQUE (highlight_id, position)
);
CREATE INDEX story_highlight_items_by_story ON story_highlight_items (story_id);

-- A reaction's notification names its story; the story going takes it.
ALTER TABLE notifications ADD COLUMN story_id uuid REFERENCES stories (id) ON DELETE CASCADE;
CREATE INDEX notifications_by_story ON notifications (story_id) WHERE story_id IS NOT NULL;
ALTER TABLE notifications DROP CONSTRAINT notifications_post_shape;
ALTER TABLE notifications ADD CONSTRAINT notifications_post_shape
    CHECK ((type IN ('follow', 'story_reaction')) = (post_id IS NULL));
ALTER TABLE notifications ADD CONSTRAINT notifications_story_shape
    CHECK ((type = 'story_reaction') = (story_id IS NOT NULL));
-- One notification per reactor and story, however often they react again.
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once ON notifications (recipient_id, actor_id, type, post_id, story_id)
    NULLS NOT DISTINCT WHERE type <> 'comment';
