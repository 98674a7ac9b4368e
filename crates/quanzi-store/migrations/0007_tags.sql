-- Interest tags: operator-defined groups and tags, set by hand or by a rule (a segment
-- condition re-evaluated daily).
CREATE TABLE tag_groups (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE tags (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    group_id     TEXT NOT NULL REFERENCES tag_groups (id),
    name         TEXT NOT NULL,
    rule         TEXT,
    created_at   BIGINT NOT NULL,
    refreshed_at BIGINT,
    UNIQUE (workspace_id, group_id, name)
);

CREATE TABLE member_tags (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    tag_id       TEXT NOT NULL,
    source       TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id, tag_id)
);
CREATE INDEX member_tags_tag ON member_tags (workspace_id, tag_id);
