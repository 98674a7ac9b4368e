-- Members and OneID, behaviour events, orders and refunds, and the domain-event outbox.

-- Secrets the installation makes for itself on first start (e.g. the PII hashing key).
CREATE TABLE instance_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A member's profile counters are kept up to date as events and orders arrive.
CREATE TABLE members (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces (id),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    merged_into         TEXT,
    merged_at           BIGINT,
    traits              TEXT NOT NULL,
    acquisition_channel TEXT,
    first_seen_at       BIGINT,
    last_seen_at        BIGINT,
    last_interaction_at BIGINT,
    event_count         BIGINT NOT NULL,
    order_count         BIGINT NOT NULL,
    gmv_fen             BIGINT NOT NULL,
    refund_fen          BIGINT NOT NULL,
    first_order_at      BIGINT,
    last_order_at       BIGINT
);
CREATE INDEX members_workspace ON members (workspace_id, id);

-- OneID: each identity belongs to exactly one live member of its workspace.
CREATE TABLE member_identities (
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    lookup_key   TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    display      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind, lookup_key)
);
CREATE INDEX member_identities_member ON member_identities (member_id);

CREATE TABLE member_merges (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    survivor_id  TEXT NOT NULL,
    merged_id    TEXT NOT NULL UNIQUE,
    via          TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX member_merges_survivor ON member_merges (workspace_id, survivor_id);

CREATE TABLE events (
    workspace_id TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    member_id    TEXT NOT NULL,
    type         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    properties   TEXT NOT NULL,
    channel      TEXT,
    utm_source   TEXT,
    utm_medium   TEXT,
    utm_campaign TEXT,
    utm_content  TEXT,
    utm_term     TEXT,
    link_code    TEXT,
    kol_id       TEXT,
    campaign_id  TEXT,
    content_id   TEXT,
    PRIMARY KEY (workspace_id, event_id)
);
CREATE INDEX events_member ON events (workspace_id, member_id, occurred_at);
CREATE INDEX events_type ON events (workspace_id, type, occurred_at);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    fingerprint        TEXT NOT NULL,
    member_id          TEXT NOT NULL,
    paid_at            BIGINT NOT NULL,
    received_at        BIGINT NOT NULL,
    items_total_fen    BIGINT NOT NULL,
    order_discount_fen BIGINT NOT NULL,
    shipping_fen       BIGINT NOT NULL,
    paid_fen           BIGINT NOT NULL,
    refunded_fen       BIGINT NOT NULL,
    shipping_refunded  BIGINT NOT NULL,
    status             TEXT NOT NULL,
    coupons            TEXT NOT NULL,
    channel            TEXT,
    utm_source         TEXT,
    utm_medium         TEXT,
    utm_campaign       TEXT,
    utm_content        TEXT,
    utm_term           TEXT,
    link_code          TEXT,
    kol_id             TEXT,
    campaign_id        TEXT,
    content_id         TEXT,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX orders_member ON orders (workspace_id, member_id, paid_at);
CREATE INDEX orders_paid ON orders (workspace_id, paid_at);

CREATE TABLE order_items (
    order_id          TEXT NOT NULL,
    line              BIGINT NOT NULL,
    workspace_id      TEXT NOT NULL,
    sku               TEXT NOT NULL,
    category          TEXT,
    name              TEXT,
    quantity          BIGINT NOT NULL,
    unit_price_fen    BIGINT NOT NULL,
    discount_fen      BIGINT NOT NULL,
    net_fen           BIGINT NOT NULL,
    refunded_quantity BIGINT NOT NULL,
    refunded_fen      BIGINT NOT NULL,
    PRIMARY KEY (order_id, line)
);
CREATE INDEX order_items_sku ON order_items (workspace_id, sku);

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    amount_fen   BIGINT NOT NULL,
    shipping_fen BIGINT NOT NULL,
    lines        TEXT NOT NULL,
    reason       TEXT,
    refunded_at  BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX refunds_order ON refunds (order_id);

-- The outbox: facts other features react to (order.paid, order.refunded, member.merged),
-- written in the transaction that made them true.
CREATE TABLE domain_events (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    topic        TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX domain_events_workspace ON domain_events (workspace_id, id);
CREATE INDEX domain_events_subject ON domain_events (workspace_id, subject_id);
