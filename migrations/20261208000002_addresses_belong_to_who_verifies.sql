-- Issue 25, finding 11. An address belongs to the account that verified it:
-- sign-up and email change no longer tell whether an address has an
-- account, and an account that never verified its address holds nothing
-- (anyone may sign up with it; the first to verify it keeps it).
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email_verified_at IS NOT NULL;
CREATE INDEX users_by_email ON users (lower(email));

-- Mailed to an address's verified owner instead of a link, when someone
-- signs up with it or asks to move their account to it.
ALTER TYPE mail_kind ADD VALUE 'address_in_use';
