-- RFM scores, recomputed by the `members.rfm` job (NULL until a member has ordered and the
-- job has run).
ALTER TABLE members ADD COLUMN rfm_recency BIGINT;
ALTER TABLE members ADD COLUMN rfm_frequency BIGINT;
ALTER TABLE members ADD COLUMN rfm_monetary BIGINT;
ALTER TABLE members ADD COLUMN rfm_at BIGINT;
CREATE INDEX members_buyers ON members (workspace_id, order_count);
