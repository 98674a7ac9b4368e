-- Social commerce: group buying (拼团).

-- A campaign's rules live in `definition` (JSON owned by the application); the columns
-- are what SQL filters on.
CREATE TABLE group_buy_campaigns (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    sku          TEXT NOT NULL,
    group_size   BIGINT NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- A group: seats are taken by a conditional update, never past `seats`.
CREATE TABLE group_buy_groups (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    leader_id    TEXT NOT NULL,
    seats        BIGINT NOT NULL,
    joined       BIGINT NOT NULL,
    -- `open`, `succeeded`, `succeeded_virtually` or `failed`.
    status       TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    PRIMARY KEY (workspace_id, id),
    CHECK (joined >= 1 AND joined <= seats)
);
CREATE INDEX group_buy_groups_campaign ON group_buy_groups (workspace_id, campaign_id, status);
CREATE INDEX group_buy_groups_due ON group_buy_groups (expires_at) WHERE status = 'open';

-- Who is in a group, with the paid order that bought the seat.
CREATE TABLE group_buy_members (
    workspace_id TEXT NOT NULL,
    group_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    leader       BIGINT NOT NULL,
    joined_at    BIGINT NOT NULL,
    -- Set when the failed group's refund for this seat was recorded.
    refunded_at  BIGINT,
    PRIMARY KEY (workspace_id, group_id, member_id)
);
-- An order buys one seat.
CREATE UNIQUE INDEX group_buy_members_order ON group_buy_members (workspace_id, order_id);
CREATE INDEX group_buy_members_member ON group_buy_members (workspace_id, member_id, campaign_id);

-- Groups a member is in per campaign, raised under the campaign's limit.
CREATE TABLE group_buy_member_counts (
    workspace_id TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    groups       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, campaign_id, member_id),
    CHECK (groups >= 0)
);

-- Bargaining (砍价): campaigns, a member's bargain, and the helpers who cut its price.
CREATE TABLE bargain_campaigns (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    sku          TEXT NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE bargains (
    workspace_id   TEXT NOT NULL,
    id             TEXT NOT NULL,
    campaign_id    TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    -- Seeds the cut sequence, so every cut is reproducible.
    seed           BIGINT NOT NULL,
    helpers        BIGINT NOT NULL,
    helpers_needed BIGINT NOT NULL,
    price_fen      BIGINT NOT NULL,
    floor_fen      BIGINT NOT NULL,
    -- `open`, `purchased`.
    status         TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    order_id       TEXT,
    purchased_at   BIGINT,
    PRIMARY KEY (workspace_id, id),
    CHECK (helpers >= 0 AND helpers <= helpers_needed),
    CHECK (price_fen >= floor_fen)
);
-- One bargain per member and campaign.
CREATE UNIQUE INDEX bargains_member ON bargains (workspace_id, campaign_id, member_id);

CREATE TABLE bargain_helps (
    workspace_id TEXT NOT NULL,
    bargain_id   TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    helper_id    TEXT NOT NULL,
    position     BIGINT NOT NULL,
    cut_fen      BIGINT NOT NULL,
    price_after  BIGINT NOT NULL,
    helped_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, bargain_id, position)
);
-- One help per helper per campaign.
CREATE UNIQUE INDEX bargain_helps_helper ON bargain_helps (workspace_id, campaign_id, helper_id);

-- Referral fission (裂变): programs, members' invite codes, who invited whom, and the
-- rewards paid for it.
CREATE TABLE referral_programs (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE invite_codes (
    workspace_id TEXT NOT NULL,
    code         TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, code)
);
CREATE UNIQUE INDEX invite_codes_member ON invite_codes (workspace_id, member_id);

-- An invitee has at most one inviter per program (first touch; replaced only once expired).
CREATE TABLE referral_bindings (
    workspace_id TEXT NOT NULL,
    program_id   TEXT NOT NULL,
    invitee_id   TEXT NOT NULL,
    inviter_id   TEXT NOT NULL,
    bound_at     BIGINT NOT NULL,
    expires_at   BIGINT,
    qualified_at BIGINT,
    order_id     TEXT,
    -- Keyed fingerprints of the device and IP the invitee arrived from (anti-fraud).
    device_hash  TEXT,
    ip_hash      TEXT,
    PRIMARY KEY (workspace_id, program_id, invitee_id)
);
CREATE INDEX referral_bindings_inviter ON referral_bindings (workspace_id, program_id, inviter_id);

CREATE TABLE referral_rewards (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    program_id      TEXT NOT NULL,
    inviter_id      TEXT NOT NULL,
    invitee_id      TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    stage           BIGINT,
    points          BIGINT NOT NULL,
    coupon_template TEXT,
    order_id        TEXT NOT NULL,
    pending_until   BIGINT NOT NULL,
    -- `granted`, or `held` for review (anti-fraud), then `granted` or `rejected`.
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX referral_rewards_order ON referral_rewards (workspace_id, order_id);
CREATE INDEX referral_rewards_inviter ON referral_rewards (workspace_id, program_id, inviter_id, created_at);

-- Distribution (分销): the workspace's rules, promoters (with the upline who recruited
-- them: two levels at most), buyers bound to promoters, commissions per order line and
-- level, and withdrawals.
CREATE TABLE distribution_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY,
    definition   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE promoters (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    upline_id    TEXT,
    status       TEXT NOT NULL,
    joined_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id)
);
CREATE INDEX promoters_upline ON promoters (workspace_id, upline_id);

CREATE TABLE promoter_bindings (
    workspace_id TEXT NOT NULL,
    buyer_id     TEXT NOT NULL,
    promoter_id  TEXT NOT NULL,
    bound_at     BIGINT NOT NULL,
    expires_at   BIGINT,
    PRIMARY KEY (workspace_id, buyer_id)
);
CREATE INDEX promoter_bindings_promoter ON promoter_bindings (workspace_id, promoter_id);

CREATE TABLE commissions (
    workspace_id   TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    level          BIGINT NOT NULL,
    line           BIGINT NOT NULL,
    promoter_id    TEXT NOT NULL,
    paid_fen       BIGINT NOT NULL,
    rate_bp        BIGINT NOT NULL,
    amount_fen     BIGINT NOT NULL,
    clawed_back_fen BIGINT NOT NULL DEFAULT 0,
    -- `pending` (inside the freeze period) or `settled`.
    status         TEXT NOT NULL,
    settle_at      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, order_id, level, line),
    CHECK (clawed_back_fen >= 0 AND clawed_back_fen <= amount_fen)
);
CREATE INDEX commissions_promoter ON commissions (workspace_id, promoter_id, status);
CREATE INDEX commissions_due ON commissions (settle_at) WHERE status = 'pending';

CREATE TABLE withdrawals (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    promoter_id  TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL,
    -- `requested`, `approved`, `rejected` or `paid`.
    status       TEXT NOT NULL,
    note         TEXT,
    requested_at BIGINT NOT NULL,
    reviewed_at  BIGINT,
    PRIMARY KEY (workspace_id, id),
    CHECK (amount_fen > 0)
);
CREATE INDEX withdrawals_promoter ON withdrawals (workspace_id, promoter_id);

-- Anti-fraud: each workspace's thresholds, and rewards held for review with the signals
-- that held them.
CREATE TABLE fraud_settings (
    workspace_id TEXT NOT NULL PRIMARY KEY,
    definition   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE fraud_flags (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    signals      TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    reviewed_at  BIGINT,
    reviewer     TEXT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX fraud_flags_status ON fraud_flags (workspace_id, status, created_at);
