-- The version of the terms each account accepted last (issue 29). Null:
-- none recorded (accounts made before versions were, or a sign-up that
-- named none): with TERMS_VERSION set, such accounts accept before posting.
ALTER TABLE users ADD COLUMN terms_version text
    CONSTRAINT users_terms_version_length CHECK (char_length(terms_version) BETWEEN 1 AND 64);
ALTER TABLE users ADD COLUMN terms_accepted_at timestamptz;
