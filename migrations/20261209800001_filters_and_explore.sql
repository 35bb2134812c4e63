-- Issue 28: keyword filters (hide or warn, per context, with an expiry)
-- and explore's snapshots.
CREATE TYPE filter_context AS ENUM ('home', 'notifications', 'comments', 'explore');
CREATE TYPE filter_action AS ENUM ('hide', 'warn');

CREATE TABLE filters (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    contexts   filter_context[] NOT NULL CHECK (cardinality(contexts) >= 1),
    action     filter_action NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX filters_by_user ON filters (user_id);

-- `pattern` is the keyword as a PostgreSQL regular expression (written by
-- the server from the keyword, every character escaped), matched with ~*.
CREATE TABLE filter_keywords (
    filter_id  uuid NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    position   smallint NOT NULL,
    keyword    text NOT NULL CHECK (char_length(keyword) BETWEEN 1 AND 100),
    whole_word boolean NOT NULL,
    pattern    text NOT NULL,
    PRIMARY KEY (filter_id, position)
);

-- Explore: each generation is a ranked snapshot of the public posts doing
-- well, kept a while so that a reader pages one snapshot to its end.
CREATE TABLE explore_generations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE explore_entries (
    generation bigint NOT NULL REFERENCES explore_generations (id) ON DELETE CASCADE,
    rank       integer NOT NULL,
    post_id    uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    score      double precision NOT NULL,
    PRIMARY KEY (generation, rank)
);
CREATE INDEX explore_entries_by_post ON explore_entries (post_id);
