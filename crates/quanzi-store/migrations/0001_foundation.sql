-- Foundation: tenancy, operators, API keys, sessions, login throttling, idempotency keys,
-- durable jobs and the audit log. Integers are 64-bit; timestamps are UTC milliseconds.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE operators (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, operator_id)
);
CREATE INDEX memberships_operator ON memberships (operator_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    secret_hash  TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE login_attempts (
    id        TEXT PRIMARY KEY,
    email     TEXT NOT NULL,
    address   TEXT NOT NULL,
    succeeded BIGINT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);

CREATE TABLE idempotency_keys (
    workspace_id          TEXT NOT NULL,
    idem_key              TEXT NOT NULL,
    fingerprint           TEXT NOT NULL,
    response_status       BIGINT,
    response_content_type TEXT,
    response_body         TEXT,
    created_at            BIGINT NOT NULL,
    locked_until          BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedup_key    TEXT UNIQUE,
    state        TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX jobs_claimable ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, locked_until);
CREATE INDEX jobs_workspace ON jobs (workspace_id, id);

-- Written by the `diagnostics.probe` job inside the transaction that completes it: one row
-- per successful execution, which is how operators (and the multi-node test) see that every
-- job ran exactly once.
CREATE TABLE job_probe_runs (
    id      TEXT PRIMARY KEY,
    job_id  TEXT NOT NULL,
    node_id TEXT NOT NULL,
    ran_at  BIGINT NOT NULL
);
CREATE INDEX job_probe_runs_job ON job_probe_runs (job_id);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    details      TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
