-- Legal holds (issue 29): an admin keeps a post, a photo or a whole
-- account, with a reason and an end, through the account purge and the
-- sweepers. A hold is active while `released_at` is null and `expires_at`
-- is ahead; the chores end the others and delete what they kept.
CREATE TABLE legal_holds (
    id uuid PRIMARY KEY,
    target_type text NOT NULL
        CONSTRAINT legal_holds_target_type CHECK (target_type IN ('user', 'post', 'media')),
    target_id uuid NOT NULL,
    -- The account the held thing belongs to, so the purge finds its holds.
    owner_id uuid NOT NULL,
    reason text NOT NULL CONSTRAINT legal_holds_reason_length CHECK (char_length(reason) BETWEEN 1 AND 1000),
    placed_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    released_at timestamptz,
    CONSTRAINT legal_holds_end_after_start CHECK (expires_at > created_at)
);
CREATE INDEX legal_holds_active_by_owner ON legal_holds (owner_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_active_by_end ON legal_holds (expires_at) WHERE released_at IS NULL;

-- Posts their authors deleted while a hold kept them: hidden (taken down)
-- instead, and deleted by the chores once no hold keeps them.
CREATE TABLE legal_hold_deletions (
    post_id uuid PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    asked_at timestamptz NOT NULL DEFAULT now()
);
