-- A `moderation` notification has no actor (a moderator is not an account
-- the user sees) and names its decision; it is the decision's, and goes
-- with it.
ALTER TABLE notifications ALTER COLUMN actor_id DROP NOT NULL;
ALTER TABLE notifications
    ADD COLUMN decision_id uuid REFERENCES moderation_decisions (id) ON DELETE CASCADE;
ALTER TABLE notifications DROP CONSTRAINT notifications_post_shape;
ALTER TABLE notifications ADD CONSTRAINT notifications_post_shape
    CHECK ((type IN ('follow', 'story_reaction', 'follow_request', 'follow_accepted', 'moderation'))
           = (post_id IS NULL));
ALTER TABLE notifications ADD CONSTRAINT notifications_decision_shape
    CHECK ((type = 'moderation') = (decision_id IS NOT NULL)
           AND (type = 'moderation') = (actor_id IS NULL));
CREATE INDEX notifications_by_decision ON notifications (decision_id) WHERE decision_id IS NOT NULL;
-- Every decision is its own notification: the index that keeps one per
-- follow, like or reaction leaves them out.
DROP INDEX notifications_once;
CREATE UNIQUE INDEX notifications_once ON notifications (recipient_id, actor_id, type, post_id, story_id)
    NULLS NOT DISTINCT WHERE type NOT IN ('comment', 'moderation');
