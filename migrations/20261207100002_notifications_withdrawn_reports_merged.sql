-- Issue 25, finding 10. An undone like or follow keeps its notification,
-- withdrawn: doing it again restores that one (read or not) instead of
-- adding a new unread one.
ALTER TABLE notifications ADD COLUMN withdrawn_at timestamptz;

-- One report per reporter and target: a repeat updates its reason. Earlier
-- repeats are merged into the first report of each pair.
DELETE FROM reports later USING reports first
 WHERE later.reporter_id = first.reporter_id
   AND later.target_type = first.target_type
   AND later.target_id = first.target_id
   AND (later.created_at, later.id) > (first.created_at, first.id);
CREATE UNIQUE INDEX reports_once ON reports (reporter_id, target_type, target_id);
