-- Promotions: coupon templates and instances, spend-threshold and timed-discount rules,
-- flash sales, and SKU price history for the original-price check.

-- A coupon template. Its rules (kind, scope, stacking, use window, audience) live in
-- `definition` (JSON owned by the application); the columns are what SQL must check or
-- count atomically: quantity issued against the total, discount booked against the budget.
CREATE TABLE coupon_templates (
    workspace_id           TEXT NOT NULL,
    id                     TEXT NOT NULL,
    name                   TEXT NOT NULL,
    definition             TEXT NOT NULL,
    status                 TEXT NOT NULL,
    claim_starts_at        BIGINT,
    claim_ends_at          BIGINT,
    total_quantity         BIGINT,
    issued                 BIGINT NOT NULL DEFAULT 0,
    per_member_claim_limit BIGINT,
    per_member_use_limit   BIGINT,
    budget_fen             BIGINT,
    -- Discount held by locked coupons plus discount given by used ones.
    booked_fen             BIGINT NOT NULL DEFAULT 0,
    -- The most one coupon can take off: claims stop when the budget left is below it.
    max_discount_fen       BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    CHECK (total_quantity IS NULL OR issued <= total_quantity),
    CHECK (budget_fen IS NULL OR booked_fen <= budget_fen),
    CHECK (booked_fen >= 0 AND issued >= 0)
);

-- Coupon instances: available → locked (by an unpaid order) → used → returned on refund,
-- or expired / revoked.
CREATE TABLE coupons (
    workspace_id  TEXT NOT NULL,
    id            TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    status        TEXT NOT NULL,
    source        TEXT NOT NULL,
    claimed_at    BIGINT NOT NULL,
    valid_from    BIGINT NOT NULL,
    valid_until   BIGINT NOT NULL,
    order_id      TEXT,
    locked_until  BIGINT,
    discount_fen  BIGINT NOT NULL DEFAULT 0,
    used_at       BIGINT,
    returned_at   BIGINT,
    ended_at      BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX coupons_member ON coupons (workspace_id, member_id, status);
CREATE INDEX coupons_template ON coupons (workspace_id, template_id, status);
CREATE INDEX coupons_order ON coupons (workspace_id, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX coupons_locked_due ON coupons (locked_until) WHERE status = 'locked';
CREATE INDEX coupons_valid_until ON coupons (valid_until) WHERE status = 'available';

-- Per-member counters, raised by a conditional upsert so that a limit cannot be beaten
-- by sending requests at once.
CREATE TABLE coupon_member_counts (
    workspace_id TEXT NOT NULL,
    template_id  TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    claimed      BIGINT NOT NULL DEFAULT 0,
    used         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, template_id, member_id),
    CHECK (claimed >= 0 AND used >= 0)
);

-- Spend-threshold rules (满减送), timed SKU discounts and other order-level promotions.
CREATE TABLE promotions (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX promotions_window ON promotions (workspace_id, status, ends_at);

-- Flash sales (秒杀): a time slot with per-SKU flash prices and stock.
CREATE TABLE flash_sales (
    workspace_id            TEXT NOT NULL,
    id                      TEXT NOT NULL,
    name                    TEXT NOT NULL,
    starts_at               BIGINT NOT NULL,
    ends_at                 BIGINT NOT NULL,
    payment_timeout_seconds BIGINT NOT NULL,
    per_member_limit        BIGINT NOT NULL,
    buckets                 BIGINT NOT NULL,
    -- `none`, or `redis`: a Redis counter admits buyers before the database is asked.
    gate                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE flash_sale_skus (
    workspace_id       TEXT NOT NULL,
    sale_id            TEXT NOT NULL,
    sku                TEXT NOT NULL,
    flash_price_fen    BIGINT NOT NULL,
    original_price_fen BIGINT NOT NULL,
    stock              BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, sale_id, sku)
);

-- Stock split into buckets so that buyers spread over several rows instead of queueing
-- on one. A bucket can never go below zero.
CREATE TABLE flash_stock (
    workspace_id TEXT NOT NULL,
    sale_id      TEXT NOT NULL,
    sku          TEXT NOT NULL,
    bucket       BIGINT NOT NULL,
    remaining    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, sale_id, sku, bucket),
    CHECK (remaining >= 0)
);

CREATE TABLE flash_reservations (
    workspace_id TEXT NOT NULL,
    id           TEXT NOT NULL,
    sale_id      TEXT NOT NULL,
    sku          TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    quantity     BIGINT NOT NULL,
    bucket       BIGINT NOT NULL,
    status       TEXT NOT NULL,
    order_id     TEXT,
    reserved_at  BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    settled_at   BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX flash_reservations_member ON flash_reservations (workspace_id, member_id, sale_id);
CREATE INDEX flash_reservations_due ON flash_reservations (expires_at) WHERE status = 'reserved';
CREATE INDEX flash_reservations_order ON flash_reservations (workspace_id, order_id) WHERE order_id IS NOT NULL;

CREATE TABLE flash_member_counts (
    workspace_id TEXT NOT NULL,
    sale_id      TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    held         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, sale_id, member_id),
    CHECK (held >= 0)
);

-- What each SKU actually sold for (per unit, after every discount), for the check of a
-- crossed-out "original" price against the lowest price of the 7 days before a promotion.
CREATE TABLE sku_prices (
    workspace_id TEXT NOT NULL,
    sku          TEXT NOT NULL,
    paid_at      BIGINT NOT NULL,
    order_id     TEXT NOT NULL,
    line         BIGINT NOT NULL,
    unit_fen     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, order_id, line)
);
CREATE INDEX sku_prices_sku ON sku_prices (workspace_id, sku, paid_at);

-- What a checkout's promotions grant besides a lower price (满送: points, gift coupons),
-- kept until the order is paid and then granted in the order's transaction.
CREATE TABLE checkout_benefits (
    workspace_id TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    benefits     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, order_id)
);
