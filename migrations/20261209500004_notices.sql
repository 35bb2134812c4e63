-- Notices from anyone (EU DSA Art. 16, issue 29): a signed-out form about
-- content, landing in the admin report queue as a report without a
-- reporter account, and acknowledged by mail to the address given.
CREATE TABLE notices (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CONSTRAINT notices_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    email      text NOT NULL CONSTRAINT notices_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
    -- The URL or id the notifier gave, as given.
    content    text NOT NULL CONSTRAINT notices_content_length CHECK (char_length(content) BETWEEN 1 AND 2000),
    -- The statement that the notice is accurate and made in good faith.
    good_faith boolean NOT NULL CONSTRAINT notices_good_faith CHECK (good_faith),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A report comes from an account or from a notice, never both.
ALTER TABLE reports ALTER COLUMN reporter_id DROP NOT NULL;
ALTER TABLE reports ADD COLUMN notice_id uuid REFERENCES notices (id) ON DELETE CASCADE;
ALTER TABLE reports ADD CONSTRAINT reports_from_someone CHECK ((reporter_id IS NULL) <> (notice_id IS NULL));
CREATE INDEX reports_by_notice ON reports (notice_id) WHERE notice_id IS NOT NULL;

-- The acknowledgement goes to an address with no account.
ALTER TYPE mail_kind ADD VALUE 'notice_received';
ALTER TABLE mail_outbox ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE mail_outbox ADD COLUMN notice_id uuid REFERENCES notices (id) ON DELETE CASCADE;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_for_someone CHECK ((user_id IS NULL) <> (notice_id IS NULL));
-- Acknowledgements per address and day are bounded: counted here.
CREATE INDEX mail_outbox_notice_acks ON mail_outbox (lower(recipient), created_at) WHERE notice_id IS NOT NULL;
