-- Issue 26, trust levels: what an account may do follows from what it has
-- shown; strikes (upheld reports, takedowns) demote and, past a threshold,
-- suspend for a while; every admin decision is on record.

CREATE TYPE trust_level AS ENUM ('new', 'basic', 'trusted', 'verified');

ALTER TABLE users
    ADD COLUMN trust_level      trust_level NOT NULL DEFAULT 'new',
    -- Set by an admin: the background run leaves the level alone (a strike
    -- still demotes, and unpins).
    ADD COLUMN trust_pinned     boolean NOT NULL DEFAULT false,
    -- When the background run last looked: it takes the oldest first.
    ADD COLUMN trust_checked_at timestamptz,
    -- A suspension that ends by itself (strikes). NULL with suspended_at
    -- set: an admin's suspension, until an admin lifts it.
    ADD COLUMN suspended_until  timestamptz,
    ADD CONSTRAINT users_suspended_until_needs_suspension
        CHECK (suspended_until IS NULL OR suspended_at IS NOT NULL);

CREATE INDEX users_trust_due ON users (trust_checked_at NULLS FIRST)
    WHERE deleted_at IS NULL AND suspended_at IS NULL AND NOT trust_pinned;
CREATE INDEX users_suspension_ends ON users (suspended_until)
    WHERE suspended_until IS NOT NULL;

-- A moderator's verdict on a report. Final: a wrong strike is withdrawn.
CREATE TYPE report_resolution AS ENUM ('upheld', 'dismissed');
ALTER TABLE reports
    ADD COLUMN resolution  report_resolution,
    ADD COLUMN resolved_at timestamptz,
    ADD CONSTRAINT reports_resolved_together CHECK ((resolution IS NULL) = (resolved_at IS NULL));

CREATE TYPE strike_kind AS ENUM ('report_upheld', 'takedown');

-- One strike per offence: the post or comment (whether a report was upheld
-- or the post taken down, or both), or the upheld report about the user.
CREATE TABLE trust_strikes (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            strike_kind NOT NULL,
    subject_id      uuid NOT NULL,
    report_id       uuid REFERENCES reports (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    withdrawn_at    timestamptz,
    -- The suspension this strike brought, if any.
    suspended_until timestamptz,
    CONSTRAINT trust_strikes_once UNIQUE (user_id, subject_id)
);
CREATE INDEX trust_strikes_of_user ON trust_strikes (user_id, created_at DESC);
CREATE INDEX trust_strikes_subject ON trust_strikes (subject_id);

CREATE TYPE admin_action AS ENUM (
    'set_trust_level', 'lift_suspension', 'resolve_report', 'withdraw_strike',
    'strike', 'auto_suspend', 'auto_lift',
    'take_down', 'restore_post', 'suspend', 'unsuspend', 'suspend_branch', 'mint_invites'
);

-- Who did what to whom, when and why. `actor` is `system` for what the
-- background run and strikes do by themselves, else `admin` (the shared
-- ADMIN_TOKEN) or `admin:<label>` (its X-Admin-Actor header).
CREATE TABLE admin_actions (
    id         uuid PRIMARY KEY,
    actor      text NOT NULL CONSTRAINT admin_actions_actor_length CHECK (char_length(actor) BETWEEN 1 AND 80),
    action     admin_action NOT NULL,
    user_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    subject_id uuid,
    reason     text NOT NULL CONSTRAINT admin_actions_reason_length CHECK (char_length(reason) BETWEEN 1 AND 1000),
    details    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_actions_of_user ON admin_actions (user_id, id DESC) WHERE user_id IS NOT NULL;
