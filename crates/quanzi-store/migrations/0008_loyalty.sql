-- The points ledger. Member accounts (wallet, debt) carry counters and are the only rows
-- that are locked; system accounts (sources, sinks, expiry) are derived from transfers.
CREATE TABLE loyalty_accounts (
    workspace_id    TEXT NOT NULL,
    code            TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    debits_pending  BIGINT NOT NULL DEFAULT 0,
    debits_posted   BIGINT NOT NULL DEFAULT 0,
    credits_pending BIGINT NOT NULL DEFAULT 0,
    credits_posted  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, code),
    CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0),
    -- A wallet never goes negative, whatever the application does.
    CHECK (kind <> 'wallet' OR debits_posted + debits_pending <= credits_posted)
);
CREATE INDEX loyalty_accounts_member ON loyalty_accounts (workspace_id, member_id);

-- Every request id seen, its fingerprint and how it ended: the idempotency record.
CREATE TABLE loyalty_ops (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    error        TEXT,
    member_id    TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- Immutable, balanced transfers.
CREATE TABLE loyalty_transfers (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    op_id        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    debit        TEXT NOT NULL,
    credit       TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    phase        TEXT NOT NULL,
    pending_id   TEXT,
    lot_id       TEXT,
    order_id     TEXT,
    reason       TEXT,
    member_id    TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    CHECK (debit <> credit)
);
CREATE INDEX loyalty_transfers_member ON loyalty_transfers (workspace_id, member_id, created_at);
CREATE INDEX loyalty_transfers_order ON loyalty_transfers (workspace_id, order_id) WHERE order_id IS NOT NULL;
-- A pending transfer is posted or voided exactly once.
CREATE UNIQUE INDEX loyalty_transfers_resolution ON loyalty_transfers (workspace_id, pending_id)
    WHERE phase IN ('post', 'void');

-- Two-phase transfers (checkout holds, order points in their return window) and their fate.
CREATE TABLE loyalty_pending (
    workspace_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    member_id       TEXT NOT NULL,
    debit           TEXT NOT NULL,
    credit          TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    state           TEXT NOT NULL,
    timeout_at      BIGINT NOT NULL,
    on_timeout      TEXT NOT NULL,
    lot_expires_at  BIGINT,
    order_id        TEXT,
    uses            TEXT NOT NULL,
    resolved_amount BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX loyalty_pending_due ON loyalty_pending (timeout_at) WHERE state = 'pending';
CREATE INDEX loyalty_pending_member ON loyalty_pending (workspace_id, member_id) WHERE state = 'pending';
CREATE INDEX loyalty_pending_order ON loyalty_pending (workspace_id, order_id) WHERE order_id IS NOT NULL;

-- Points earned together, spent oldest first, each with its own expiry.
CREATE TABLE loyalty_lots (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    source       TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    remaining    BIGINT NOT NULL,
    reversed     BIGINT NOT NULL DEFAULT 0,
    expired      BIGINT NOT NULL DEFAULT 0,
    earned_at    BIGINT NOT NULL,
    expires_at   BIGINT,
    -- The expiry while points are left, NULL once the lot is used up: what expiry work
    -- looks for. Spending changes `remaining` but not this, so it leaves the index alone.
    due_at       BIGINT,
    order_id     TEXT,
    noticed_at   BIGINT,
    PRIMARY KEY (workspace_id, id),
    CHECK (remaining >= 0 AND remaining <= amount)
);
CREATE INDEX loyalty_lots_open ON loyalty_lots (workspace_id, member_id, earned_at);
CREATE INDEX loyalty_lots_due ON loyalty_lots (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX loyalty_lots_order ON loyalty_lots (workspace_id, order_id) WHERE order_id IS NOT NULL;

-- Which lots each debit took its points from (negative: given back by a post or void).
CREATE TABLE loyalty_lot_uses (
    workspace_id TEXT NOT NULL,
    transfer_id  TEXT NOT NULL,
    lot_id       TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, transfer_id, lot_id)
);

-- Each workspace's loyalty programme (shortfall policy, notices, check-in), as JSON the
-- application validates; absent means the defaults.
CREATE TABLE loyalty_settings (
    workspace_id TEXT PRIMARY KEY,
    settings     TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- One row per member and local calendar day checked in (签到), made-up days included.
CREATE TABLE loyalty_checkins (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    day          TEXT NOT NULL,
    makeup       BIGINT NOT NULL DEFAULT 0,
    points       BIGINT NOT NULL,
    transfer_id  TEXT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_id, day)
);

-- The points mall: items priced in points (plus optional cash), with stock.
CREATE TABLE loyalty_mall_items (
    workspace_id     TEXT NOT NULL,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    points           BIGINT NOT NULL CHECK (points > 0),
    cash_fen         BIGINT NOT NULL DEFAULT 0 CHECK (cash_fen >= 0),
    stock            BIGINT NOT NULL CHECK (stock >= 0),
    per_member_limit BIGINT,
    active           BIGINT NOT NULL DEFAULT 1,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- A redemption holds its points until its cancellation window ends (then they settle);
-- cancelling voids the hold and puts the stock back.
CREATE TABLE loyalty_redemptions (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    points       BIGINT NOT NULL,
    cash_fen     BIGINT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    cancelled_at BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX loyalty_redemptions_member ON loyalty_redemptions (workspace_id, member_id, item_id);

-- Each member's tier (会员等级) as last decided; growth is computed from orders or points.
CREATE TABLE loyalty_member_tiers (
    workspace_id TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    tier         TEXT NOT NULL,
    since        BIGINT NOT NULL,
    reviewed_at  BIGINT,
    PRIMARY KEY (workspace_id, member_id)
);
