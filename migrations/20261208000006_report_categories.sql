-- Issue 29: reports carry a category, and the admin queue takes them in
-- this order (the enum's): child safety first.
CREATE TYPE report_category AS ENUM ('child_safety', 'violence', 'harassment', 'spam', 'other');
ALTER TABLE reports ADD COLUMN category report_category NOT NULL DEFAULT 'other';
CREATE INDEX reports_queue ON reports (category, id DESC);
