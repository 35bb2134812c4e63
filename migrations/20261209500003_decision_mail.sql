-- The statement of reasons is mailed too, with a link to appeal that works
-- signed out (a suspended account cannot sign in): a token of purpose
-- `appeal`, minted when the mail is sent, like the other mailed links.
ALTER TYPE mail_kind ADD VALUE 'moderation_decision';
ALTER TYPE account_token_purpose ADD VALUE 'appeal';
ALTER TABLE mail_outbox ADD COLUMN decision_id uuid REFERENCES moderation_decisions (id) ON DELETE CASCADE;
CREATE INDEX mail_outbox_by_decision ON mail_outbox (decision_id) WHERE decision_id IS NOT NULL;
