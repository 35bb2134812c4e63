-- Issue 28, private accounts: a locked account's content is for its
-- approved followers; a follow of a locked account, or of one that approves
-- follows, is a request its owner accepts or rejects.
ALTER TABLE users ADD COLUMN locked boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN approves_follows boolean NOT NULL DEFAULT false;

CREATE TABLE follow_requests (
    requester_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (requester_id, target_id),
    CONSTRAINT follow_requests_not_self CHECK (requester_id <> target_id)
);
-- The owner's list of requests, newest first.
CREATE INDEX follow_requests_by_target ON follow_requests (target_id, created_at DESC, requester_id);

ALTER TABLE notifications DROP CONSTRAINT notifications_post_shape;
ALTER TABLE notifications ADD CONSTRAINT notifications_post_shape
    CHECK ((type IN ('follow', 'story_reaction', 'follow_request', 'follow_accepted')) = (post_id IS NULL));
