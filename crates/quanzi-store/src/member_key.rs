//! The integer an event is filed under for its member.
//!
//! The events table's by-member index once held `(workspace_id, member_id, occurred_at)`:
//! some 75 bytes per entry, filed at a random place for every event, so a group of events
//! dirtied about one index page each — the largest cost of ingestion on SQLite. The index
//! now holds `(member_key, occurred_at)`, about 20 bytes. A key names a member id, not a
//! member: queries by member compare `member_id` as well (and the workspace), so two ids
//! sharing a key cost an extra row read, never a wrong answer.
//!
//! The key is stored, so this function must never change (FNV-1a, 64 bits).

use sqlx::AnyConnection;

use crate::error::Result;

/// FNV-1a over the id's bytes, as a signed 64-bit integer (the engines' BIGINT).
pub(crate) fn member_key(member_id: &str) -> i64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = member_id.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    hash as i64
}

/// Migration 14's data step: gives the events stored before it their member keys, one
/// member at a time through the old `(workspace_id, member_id, occurred_at)` index (which
/// migration 15 then drops).
pub(crate) async fn fill_member_keys(conn: &mut AnyConnection) -> Result<()> {
    let members: Vec<(String, String)> =
        sqlx::query_as("SELECT DISTINCT workspace_id, member_id FROM events")
            .fetch_all(&mut *conn)
            .await?;
    for (workspace, member) in &members {
        sqlx::query("UPDATE events SET member_key = $1 WHERE workspace_id = $2 AND member_id = $3")
            .bind(member_key(member))
            .bind(workspace)
            .bind(member)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::member_key;

    #[test]
    fn keys_are_the_published_fnv1a_values_and_never_change() {
        // FNV-1a 64 test vectors (the empty string is the offset basis).
        assert_eq!(member_key("") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(member_key("a") as u64, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(member_key("foobar") as u64, 0x8594_4171_f739_67e8);
    }

    #[test]
    fn nearby_member_ids_get_different_keys() {
        let keys: std::collections::HashSet<i64> = (0..10_000)
            .map(|i| member_key(&format!("mem_01JDX{i:021}")))
            .collect();
        assert_eq!(keys.len(), 10_000);
    }
}
