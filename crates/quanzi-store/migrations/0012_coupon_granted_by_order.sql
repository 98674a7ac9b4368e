-- Coupons a paid order granted (满送 gift coupons, referral rewards for the invitee's first
-- order) name that order, so that a full refund takes back the ones not used yet.
ALTER TABLE coupons ADD COLUMN granted_by_order TEXT;
CREATE INDEX coupons_granted_by_order ON coupons (workspace_id, granted_by_order)
    WHERE granted_by_order IS NOT NULL;
