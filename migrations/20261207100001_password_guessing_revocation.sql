-- A session that kept failing password confirmations is ended (issue 25, finding 5).
ALTER TYPE session_revocation ADD VALUE IF NOT EXISTS 'password_guessing';
