-- Issue 28, private accounts: the notification kinds of follow requests
-- (used by the next migration's constraint, hence apart).
ALTER TYPE notification_type ADD VALUE 'follow_request';
ALTER TYPE notification_type ADD VALUE 'follow_accepted';
