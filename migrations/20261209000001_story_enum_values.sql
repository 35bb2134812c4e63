-- Issue 26, stories: the new values of existing enums. A value added by
-- ALTER TYPE cannot be used in the transaction that adds it, so the tables
-- that use them come in the next migration.
ALTER TYPE notification_type ADD VALUE 'story_reaction';
ALTER TYPE report_target ADD VALUE 'story';
