-- Marketing consent per channel, and erasure on request (PIPL).
CREATE TABLE member_consents (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    channel      TEXT NOT NULL,
    granted      BIGINT NOT NULL,
    source       TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id, channel)
);
CREATE INDEX member_consents_channel ON member_consents (workspace_id, channel, granted);

ALTER TABLE members ADD COLUMN erased_at BIGINT;
