-- Statements of reasons and appeals (EU DSA Art. 17 and 20, issue 29).
-- One row per decision that restricts a user: what was restricted, on
-- what ground, and the user's one appeal with the admin's answer to it.
CREATE TYPE moderation_decision_kind AS ENUM ('post_takedown', 'story_takedown', 'strike', 'suspension');
CREATE TYPE appeal_outcome AS ENUM ('upheld', 'reversed');

CREATE TABLE moderation_decisions (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              moderation_decision_kind NOT NULL,
    -- The post or story taken down, the strike, or the user suspended.
    subject_id        uuid NOT NULL,
    -- The strike the decision brought (a takedown's), if any.
    strike_id         uuid REFERENCES trust_strikes (id) ON DELETE SET NULL,
    -- The report category behind it, when a report was.
    category          report_category,
    ground            text NOT NULL CONSTRAINT moderation_decisions_ground_length CHECK (char_length(ground) BETWEEN 1 AND 1000),
    suspended_until   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    appeal_text       text CONSTRAINT moderation_decisions_appeal_length CHECK (char_length(appeal_text) BETWEEN 1 AND 2000),
    appealed_at       timestamptz,
    appeal_outcome    appeal_outcome,
    appeal_reason     text,
    appeal_decided_at timestamptz,
    CONSTRAINT moderation_decisions_appeal_shape CHECK ((appeal_text IS NULL) = (appealed_at IS NULL)),
    CONSTRAINT moderation_decisions_outcome_shape CHECK (
        (appeal_outcome IS NULL) = (appeal_decided_at IS NULL)
        AND (appeal_outcome IS NULL) = (appeal_reason IS NULL)
        AND (appeal_outcome IS NULL OR appealed_at IS NOT NULL))
);

CREATE INDEX moderation_decisions_of_user ON moderation_decisions (user_id, id DESC);
CREATE INDEX moderation_decisions_open_appeals ON moderation_decisions (id)
    WHERE appealed_at IS NOT NULL AND appeal_outcome IS NULL;

ALTER TYPE admin_action ADD VALUE 'decide_appeal';
