-- The members merged into a given one, found by index: a merge re-points them at the
-- survivor, which otherwise scanned every member of the workspace. Partial: only merged
-- members have the column set.
CREATE INDEX members_merged_into ON members (merged_into) WHERE merged_into IS NOT NULL;
