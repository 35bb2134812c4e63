-- Issue 29: a statement of reasons is also a notification in the app
-- (its own migration: a new enum value cannot be used in the transaction
-- that adds it).
ALTER TYPE notification_type ADD VALUE 'moderation';
