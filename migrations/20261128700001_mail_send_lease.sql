-- One delivery of a mail at a time, and a link that keeps working when its
-- mail is sent again.
--
-- Two deliveries of one outbox row could run at once (the queue redelivers,
-- the sweep re-queues): both sent a mail, and the second token replaced the
-- first, so the link of the first mail to arrive was dead. A delivery now
-- takes a short lease on the row before it sends, and every mail that goes
-- out keeps its own token until one of them is used (using one revokes the
-- others of the same purpose).

ALTER TABLE mail_outbox ADD COLUMN sending_until timestamptz;

ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_mail_key;
CREATE INDEX account_tokens_by_mail ON account_tokens (mail_id);
