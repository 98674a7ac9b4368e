-- Segments: a condition tree (JSON) and its materialised members, refreshed by a job.
CREATE TABLE segments (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    refreshed_at BIGINT,
    member_count BIGINT,
    UNIQUE (workspace_id, name)
);

CREATE TABLE segment_members (
    workspace_id TEXT NOT NULL,
    segment_id   TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    PRIMARY KEY (segment_id, member_id)
);
CREATE INDEX segment_members_member ON segment_members (workspace_id, member_id);

CREATE INDEX orders_member_paid ON orders (member_id, paid_at);
