-- Issue 28, mentions: the new value of an existing enum. A value added by
-- ALTER TYPE cannot be used in the transaction that adds it, so nothing
-- else comes in this migration.
ALTER TYPE notification_type ADD VALUE 'mention';
