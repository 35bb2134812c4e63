-- Issue 26: invite codes and the invite tree.
CREATE TABLE invites (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- 16 characters of Crockford's base32 (80 random bits), no dashes.
    code       text NOT NULL UNIQUE CONSTRAINT invites_code_format CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{16}$'),
    -- NULL: minted by an admin.
    inviter_id uuid REFERENCES users (id) ON DELETE CASCADE,
    note       text CONSTRAINT invites_note_length CHECK (char_length(note) <= 200),
    max_uses   integer NOT NULL CONSTRAINT invites_max_uses CHECK (max_uses BETWEEN 1 AND 10000),
    uses       integer NOT NULL DEFAULT 0 CONSTRAINT invites_uses CHECK (uses BETWEEN 0 AND max_uses),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invites_by_inviter ON invites (inviter_id, created_at DESC);

ALTER TABLE users
    ADD COLUMN invite_id uuid REFERENCES invites (id) ON DELETE SET NULL,
    ADD COLUMN invited_by uuid REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX users_invited_by ON users (invited_by, id) WHERE invited_by IS NOT NULL;
