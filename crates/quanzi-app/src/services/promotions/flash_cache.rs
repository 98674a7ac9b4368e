//! What a node remembers about running flash sales between requests, so that the many
//! buyers turned away after a sale sells out cost no database work:
//! - a sale's row and SKU list, kept for a second (a sale changes only when it is
//!   cancelled, and the reservation writer checks that in the database itself);
//! - "sold out" for a SKU, learnt when the database refused a buyer for stock, kept for a
//!   second — or until this node returns stock to that SKU (a cancel or an expiry), which
//!   forgets it at once.
//!
//! On one node (SQLite) a sold-out answer is therefore never stale; with several nodes a
//! buyer may hear "sold out" for up to a second after another node returned stock, which
//! a flash sale can live with. Stock itself is only ever taken in the database, so the
//! cache can turn buyers away but never sell anything. Times come from the app's clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quanzi_domain::time::Timestamp;
use quanzi_store::FlashSaleRow;

const KEEP: Duration = Duration::from_secs(1);
/// Entries at most, so that a flood of unknown sale ids cannot grow memory.
const CAPACITY: usize = 4_096;

/// A sale and the SKUs it sells.
pub type CachedSale = Arc<(FlashSaleRow, Vec<String>)>;

#[derive(Debug, Default)]
pub struct FlashCache {
    sales: Mutex<HashMap<String, (Timestamp, CachedSale)>>,
    sold_out: Mutex<HashMap<String, Timestamp>>,
}

fn sale_key(ws: &str, sale: &str) -> String {
    format!("{ws}/{sale}")
}

fn sku_key(ws: &str, sale: &str, sku: &str) -> String {
    format!("{ws}/{sale}/{sku}")
}

impl FlashCache {
    pub fn sale(&self, ws: &str, sale: &str, now: Timestamp) -> Option<CachedSale> {
        let sales = self.sales.lock().expect("flash cache lock");
        sales
            .get(&sale_key(ws, sale))
            .filter(|(until, _)| now < *until)
            .map(|(_, cached)| cached.clone())
    }

    pub fn keep_sale(&self, ws: &str, sale: CachedSale, now: Timestamp) {
        let mut sales = self.sales.lock().expect("flash cache lock");
        if sales.len() >= CAPACITY {
            sales.retain(|_, (until, _)| now < *until);
            if sales.len() >= CAPACITY {
                sales.clear();
            }
        }
        sales.insert(sale_key(ws, &sale.0.id), (now.plus(KEEP), sale));
    }

    /// The sale changed (it was cancelled): the next buyer reads it again.
    pub fn forget_sale(&self, ws: &str, sale: &str) {
        let mut sales = self.sales.lock().expect("flash cache lock");
        sales.remove(&sale_key(ws, sale));
    }

    pub fn is_sold_out(&self, ws: &str, sale: &str, sku: &str, now: Timestamp) -> bool {
        let sold_out = self.sold_out.lock().expect("flash cache lock");
        sold_out
            .get(&sku_key(ws, sale, sku))
            .is_some_and(|until| now < *until)
    }

    pub fn mark_sold_out(&self, ws: &str, sale: &str, sku: &str, now: Timestamp) {
        let mut sold_out = self.sold_out.lock().expect("flash cache lock");
        if sold_out.len() >= CAPACITY {
            sold_out.retain(|_, until| now < *until);
            if sold_out.len() >= CAPACITY {
                sold_out.clear();
            }
        }
        sold_out.insert(sku_key(ws, sale, sku), now.plus(KEEP));
    }

    /// Stock came back to this SKU: the next buyer asks the database again.
    pub fn forget_sold_out(&self, ws: &str, sale: &str, sku: &str) {
        let mut sold_out = self.sold_out.lock().expect("flash cache lock");
        sold_out.remove(&sku_key(ws, sale, sku));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sold_out_lasts_a_second_or_until_stock_comes_back() {
        let cache = FlashCache::default();
        let t = Timestamp::from_millis(10_000);
        cache.mark_sold_out("ws", "s", "tea", t);
        assert!(cache.is_sold_out("ws", "s", "tea", t.plus(Duration::from_millis(999))));
        assert!(!cache.is_sold_out("ws", "s", "tea", t.plus(KEEP)));
        assert!(!cache.is_sold_out("ws", "s", "cup", t));
        cache.forget_sold_out("ws", "s", "tea");
        assert!(!cache.is_sold_out("ws", "s", "tea", t));
    }
}
