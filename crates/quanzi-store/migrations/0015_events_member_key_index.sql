-- The by-member index goes by key (every query by member also compares member_id and the
-- workspace, so ids sharing a key cannot mix).
DROP INDEX events_member;
CREATE INDEX events_member_key ON events (member_key, occurred_at);
