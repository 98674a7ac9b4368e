//! A minimal keep-alive HTTP/1.1 client for benchmarks: a hand-rolled client keeps the
//! benchmark's own cost (and dependencies) small.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// POSTs `body` as JSON to `path` on an open connection; returns the status line and body.
pub async fn post(
    stream: &mut TcpStream,
    path: &str,
    key: &str,
    body: &[u8],
) -> anyhow::Result<(u16, String)> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    // One write: a head and body sent apart meet Nagle's algorithm and the peer's
    // delayed ACK, which adds 40 ms to every small request.
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await?;
    let mut reader = BufReader::new(&mut *stream);
    let mut status = String::new();
    reader.read_line(&mut status).await?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse()?;
        }
    }
    let mut response = vec![0; length];
    reader.read_exact(&mut response).await?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, String::from_utf8_lossy(&response).into_owned()))
}

/// How many times `needle` occurs in `haystack`: counting answers without parsing them.
pub fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}
