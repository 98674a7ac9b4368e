-- Anomaly alert rules and the alerts they fired. A rule fires at most once per bucket:
-- the unique key makes evaluation safe to run on every node at once.
CREATE TABLE alert_rules (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    enabled      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- The newest bucket already judged, so the minute job reads history once per bucket.
    checked_through BIGINT
);
CREATE INDEX alert_rules_workspace ON alert_rules (workspace_id, id);

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    bucket_start    BIGINT NOT NULL,
    metric          TEXT NOT NULL,
    -- JSON: value, expected, lower, upper, score, method, granularity, actions taken.
    details         TEXT NOT NULL,
    status          TEXT NOT NULL,
    fired_at        BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    UNIQUE (rule_id, bucket_start)
);
CREATE INDEX alerts_workspace ON alerts (workspace_id, fired_at);

-- Experiments: variants and weights live in the definition; assignment is a hash of
-- (experiment key, member), so only exposures are stored, once per member.
CREATE TABLE experiments (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   BIGINT,
    stopped_at   BIGINT,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE experiment_exposures (
    experiment_id TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    workspace_id  TEXT NOT NULL,
    variant       BIGINT NOT NULL,
    exposed_at    BIGINT NOT NULL,
    PRIMARY KEY (experiment_id, member_id)
);
