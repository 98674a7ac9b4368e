#!/usr/bin/env bash
# Side by side: DuckDB (PyPI, 2 threads) and quanzi on the same orders CSV of 10M orders
# from 1M customers, in one run: RFM as of 2026-12-01 end to end from the file (reading
# and parsing included), runs interleaved, best of three each; then the per-score counts
# and a checksum printed by both, which must be equal, and every customer's scores
# compared through a join. Installs duckdb into scratch/peers-venv; ORDERS=…,
# CUSTOMERS=… and RUNS=… change the size and runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
orders=${ORDERS:-10000000}
customers=${CUSTOMERS:-1000000}
runs=${RUNS:-3}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q duckdb==2.0.0
cargo build --release -q -p quanzi
./target/release/quanzi bench rfm-data --orders "$orders" --customers "$customers" \
  --output scratch/orders.csv
# Both read the file from the page cache.
cat scratch/orders.csv > /dev/null
echo "== quanzi $(./target/release/quanzi --version | cut -d' ' -f2) and duckdb $("$venv/bin/pip" show duckdb | sed -n 's/^Version: //p'), 2 threads each, runs interleaved"
RUNS="$runs" "$venv/bin/python" - <<'PY'
import os, re, subprocess, time
import duckdb

runs = int(os.environ["RUNS"])
as_of = 1796083200  # 2026-12-01 00:00:00 UTC
quanzi = ["./target/release/quanzi", "analyze", "rfm", "--input", "scratch/orders.csv",
          "--as-of", "2026-12-01", "--threads", "2"]
# The same definitions as quanzi (and the member profile): whole days since the last
# order, orders, paid minus refunded; a value's score is 1 + p * 5 / n for its first
# sorted position p, i.e. rank() - 1 (fewer days score higher).
rfm = f"""
CREATE OR REPLACE TEMP TABLE rfm AS
WITH c AS (
  SELECT customer_id,
         ({as_of} - max(ts)) // 86400 AS recency_days,
         count(*) AS frequency,
         sum(amount_fen - refunded_fen) AS monetary
  FROM read_csv('scratch/orders.csv', header = true,
       columns = {{'order_id': 'BIGINT', 'customer_id': 'VARCHAR', 'ts': 'BIGINT',
                   'amount_fen': 'BIGINT', 'refunded_fen': 'BIGINT'}})
  WHERE ts <= {as_of}
  GROUP BY customer_id
), n AS (SELECT count(*) AS n FROM c)
SELECT customer_id, recency_days, frequency, monetary,
       1 + (rank() OVER (ORDER BY recency_days DESC) - 1) * 5 // n AS r,
       1 + (rank() OVER (ORDER BY frequency) - 1) * 5 // n AS f,
       1 + (rank() OVER (ORDER BY monetary) - 1) * 5 // n AS m
FROM c, n"""

ours, theirs, out = [], [], ""
for run in range(runs):
    started = time.perf_counter()
    out = subprocess.run(quanzi, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    line = next(l for l in out.splitlines() if l.startswith("time"))
    total, read, compute = [float(x) for x in re.findall(r"([0-9.]+) s", line)][:3]
    ours.append((wall, total, read, compute))
    print(f"quanzi  run {run + 1}: {wall:.3f} s as a process ({line.split(':', 1)[1].strip()})")

    con = duckdb.connect()
    con.execute("SET threads = 2")
    started = time.perf_counter()
    con.execute(rfm)
    elapsed = time.perf_counter() - started
    theirs.append(elapsed)
    print(f"duckdb  run {run + 1}: {elapsed:.3f} s (read_csv, group by, rank, into a table)")
    if run < runs - 1:
        con.close()

def score_counts(column):
    rows = dict(con.execute(f"SELECT {column}, count(*) FROM rfm GROUP BY 1").fetchall())
    return " ".join(str(rows.get(s, 0)) for s in range(1, 6))

print(out)
summary = {
    "recency  1–5": score_counts("r"),
    "frequency 1–5": score_counts("f"),
    "monetary 1–5": score_counts("m"),
    "checksum": str(con.execute(
        "SELECT sum((r * 100 + f * 10 + m) * (monetary % 1000003)) FROM rfm").fetchone()[0]),
}
agree = True
for label, value in summary.items():
    mine = next(l for l in out.splitlines() if l.startswith(label))[len(label):].strip()
    same = mine == value
    agree &= same
    print(f"{label:<15} quanzi {mine:<40} duckdb {value:<40} {'equal' if same else 'DIFFERENT'}")

# Every customer: quanzi's scores file joined to DuckDB's table (not timed).
subprocess.run(quanzi + ["--output", "scratch/rfm_scores.csv"], check=True, capture_output=True)
joined, differ = con.execute("""
  SELECT count(*), count(*) FILTER (WHERE q.recency_days <> d.recency_days OR q.frequency <> d.frequency
         OR q.monetary_fen <> d.monetary OR q.r <> d.r OR q.f <> d.f OR q.m <> d.m)
  FROM read_csv('scratch/rfm_scores.csv', header = true) q JOIN rfm d USING (customer_id)""").fetchone()
customers = con.execute("SELECT count(*) FROM rfm").fetchone()[0]
print(f"customers       {customers} in DuckDB, {joined} joined to quanzi's, {differ} differing")
agree &= joined == customers and differ == 0

best_wall, best_total, best_read, best_compute = min(ours)
best_duckdb = min(theirs)
print(f"best of {runs}       quanzi {best_wall:.2f} s as a process ({best_total:.2f} s inside: "
      f"read+parse {best_read:.2f} s, compute {best_compute:.3f} s)   duckdb {best_duckdb:.2f} s   "
      f"{best_duckdb / best_wall:.1f}x end to end")
if not agree:
    raise SystemExit("quanzi and duckdb disagree")
print("scores agree")
PY
