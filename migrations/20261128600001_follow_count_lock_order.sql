-- A follow updates two users' counters. Updated follower first, then
-- followee, two follows in opposite directions at once (A follows B while
-- B follows A) locked the same two rows in opposite orders and deadlocked:
-- PostgreSQL aborted one, and the API answered 500 (found by the restart
-- tests' mixed load). Both rows are now locked in id order first.
CREATE OR REPLACE FUNCTION count_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    follower uuid;
    followee uuid;
    step integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        follower := NEW.follower_id;
        followee := NEW.followee_id;
        step := 1;
    ELSE
        follower := OLD.follower_id;
        followee := OLD.followee_id;
        step := -1;
    END IF;
    PERFORM 1 FROM users WHERE id IN (follower, followee) ORDER BY id FOR NO KEY UPDATE;
    UPDATE users SET following_count = following_count + step WHERE id = follower;
    UPDATE users SET followers_count = followers_count + step WHERE id = followee;
    RETURN NULL;
END $$;
