-- Issue 28: a post's likers, newest first, paged without sorting them all.
CREATE INDEX likes_by_post_newest ON likes (post_id, created_at DESC, user_id DESC);
