//! An optional Redis admission gate for the largest flash sales.
//!
//! A counter per sale SKU holds the units Redis believes are left. A buyer is admitted
//! only by an atomic decrement that keeps it non-negative (a Lua script), so once the
//! counter reaches zero the sold-out answer costs one Redis round trip and no database
//! work. The database stays the authority: an admitted buyer still takes stock by the
//! conditional update, so a wrong counter can never oversell — at worst it lets through
//! buyers the database then refuses. Units come back to the counter when a reservation is
//! cancelled or expires, and the minute sweep raises a counter that fell below the stock
//! the database holds (Redis keeps nothing on disk; a restart loses the counters), so the
//! gate never says "sold out" for long while stock is left.
//!
//! The client speaks just enough RESP for three scripts: no dependency for it.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Decrements KEYS[1] by ARGV[1] when at least that much is left: 1 admitted, 0 not.
/// A missing counter admits (the database decides; the sweep will seed it).
const ADMIT: &str = "local v = redis.call('GET', KEYS[1]) \
    if not v then return 1 end \
    if tonumber(v) >= tonumber(ARGV[1]) then redis.call('DECRBY', KEYS[1], ARGV[1]) return 1 end \
    return 0";
/// Raises KEYS[1] to ARGV[1] if it is lower or missing; returns the value after.
const RAISE: &str = "local v = tonumber(redis.call('GET', KEYS[1]) or '-1') \
    if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end \
    return v";
const IO_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_CONNECTIONS: usize = 32;

pub struct RedisGate {
    address: String,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

impl std::fmt::Debug for RedisGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGate")
            .field("address", &self.address)
            .finish()
    }
}

/// A reply we understand: integers, and status lines or nil read as `Nil` (errors
/// become `Err`).
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Int(i64),
    Nil,
}

impl RedisGate {
    /// `redis://host:port` (no auth or database number: a local, private Redis).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let address = url
            .strip_prefix("redis://")
            .ok_or_else(|| {
                anyhow::anyhow!("promotions.redis_url must look like redis://host:port")
            })?
            .trim_end_matches('/');
        anyhow::ensure!(
            !address.is_empty() && !address.contains('@'),
            "promotions.redis_url must be redis://host:port"
        );
        Ok(Self {
            address: address.to_owned(),
            idle: Mutex::new(Vec::new()),
        })
    }

    pub fn key(workspace: &str, sale: &str, sku: &str) -> String {
        format!("quanzi:flash:{workspace}:{sale}:{sku}")
    }

    /// Whether the counter lets `quantity` more through (and takes them).
    pub async fn admit(&self, key: &str, quantity: i64) -> anyhow::Result<bool> {
        Ok(self.eval(ADMIT, key, quantity).await? == Reply::Int(1))
    }

    /// Gives units back (a cancelled or expired reservation, or a buyer the database
    /// refused for another reason than stock).
    pub async fn give_back(&self, key: &str, quantity: i64) -> anyhow::Result<()> {
        self.command(&["INCRBY", key, &quantity.to_string()])
            .await
            .map(|_| ())
    }

    /// Sets the counter to at least `remaining` (what the database holds).
    pub async fn raise_to(&self, key: &str, remaining: i64) -> anyhow::Result<i64> {
        match self.eval(RAISE, key, remaining).await? {
            Reply::Int(value) => Ok(value),
            other => anyhow::bail!("unexpected reply {other:?}"),
        }
    }

    async fn eval(&self, script: &str, key: &str, arg: i64) -> anyhow::Result<Reply> {
        self.command(&["EVAL", script, "1", key, &arg.to_string()])
            .await
    }

    async fn command(&self, args: &[&str]) -> anyhow::Result<Reply> {
        let mut connection = match self.idle.lock().await.pop() {
            Some(connection) => connection,
            None => BufReader::new(
                tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(&self.address)).await??,
            ),
        };
        let reply = tokio::time::timeout(IO_TIMEOUT, round_trip(&mut connection, args)).await??;
        let mut idle = self.idle.lock().await;
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(connection);
        }
        Ok(reply)
    }
}

async fn round_trip(connection: &mut BufReader<TcpStream>, args: &[&str]) -> anyhow::Result<Reply> {
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    connection.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    connection.read_line(&mut line).await?;
    let line = line.trim_end();
    let (kind, rest) = line.split_at(line.len().min(1));
    match kind {
        ":" => Ok(Reply::Int(rest.parse()?)),
        "+" => Ok(Reply::Nil),
        "$" if rest == "-1" => Ok(Reply::Nil),
        "-" => anyhow::bail!("redis: {rest}"),
        _ => anyhow::bail!("redis sent a reply this client does not read: {line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_redis_urls_are_accepted() {
        assert!(RedisGate::new("redis://127.0.0.1:6379").is_ok());
        assert!(RedisGate::new("127.0.0.1:6379").is_err());
        assert!(RedisGate::new("redis://user:pw@host:6379").is_err());
    }
}
