-- The home feed's SQL (FEED_SQL in src/social/feed.rs) reads the newest
-- posts in id order with their author from the index alone, and asks about
-- each kept post's author in a small index of hidden users, instead of
-- joining the viewer's follows to a sequential scan of `users` (issue 31:
-- 10.7 ms a first page on 10,001 users, growing with them).
CREATE INDEX posts_newest ON posts (id DESC) INCLUDE (author_id, taken_down_at);
-- The withheld variants' reconciler made the same index (20261208000001).
CREATE INDEX IF NOT EXISTS users_hidden ON users (id) WHERE suspended_at IS NOT NULL OR deleted_at IS NOT NULL;
