-- Events are filed by member under a 64-bit key of the member id (see member_key.rs):
-- entries a quarter the size of (workspace_id, member_id, occurred_at). The keys of
-- stored events are filled in by this migration's data step, written in Rust.
ALTER TABLE events ADD COLUMN member_key BIGINT NOT NULL DEFAULT 0;
