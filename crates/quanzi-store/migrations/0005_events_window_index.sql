-- Behaviour conditions ("≥2 shares in 30 days") read the events of one type in a time
-- window grouped by member: with the member in the index they never touch the table.
DROP INDEX events_type;
CREATE INDEX events_type_window ON events (workspace_id, type, occurred_at, member_id);
