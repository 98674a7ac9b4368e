#!/usr/bin/env bash
# Side by side: DuckDB (PyPI, 2 threads) and quanzi on the same CSV event log of 10M
# events from about 1M members over 90 days, in one run: a 5-step ordered funnel with a
# 7-day window, end to end from the CSV file (reading and parsing included), best of
# three runs each (interleaved, so both see the same load on a shared machine), with the
# processor time each used, and the members per step of both, which must be equal.
# Installs duckdb into scratch/peers-venv. EVENTS=… and RUNS=… change the size and the
# runs; EPOCH=1 writes times as epoch seconds instead of YYYY-MM-DD HH:MM:SS.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
events=${EVENTS:-10000000}
runs=${RUNS:-3}
epoch=${EPOCH:-0}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q duckdb==2.0.0
cargo build --release -q -p quanzi
if [ "$epoch" = 1 ]; then format=--epoch; else format=; fi
./target/release/quanzi bench funnel-data --events "$events" $format --output scratch/events.csv
steps=view_item,add_to_cart,begin_checkout,add_payment_info,purchase
echo "== quanzi (2 threads) and duckdb $("$venv/bin/pip" show duckdb | sed -n 's/^Version: //p') (threads=2), runs interleaved"
RUNS="$runs" STEPS="$steps" EPOCH="$epoch" "$venv/bin/python" - <<'PY'
import csv, os, re, resource, subprocess, time
import duckdb

steps = os.environ["STEPS"].split(",")
runs = int(os.environ["RUNS"])
epoch = os.environ["EPOCH"] == "1"
events = ", ".join(f"'{s}'" for s in steps)
ts_type, week = ("BIGINT", "604800") if epoch else ("TIMESTAMP", "INTERVAL 7 DAY")
load = f"""
CREATE OR REPLACE TEMP TABLE e AS
SELECT member_id, ts, event
FROM read_csv('scratch/events.csv', header = true,
              columns = {{'member_id': 'VARCHAR', 'ts': '{ts_type}', 'event': 'VARCHAR', 'channel': 'VARCHAR'}})
WHERE event IN ({events})"""
# The same semantics as quanzi's ordered funnel: a step-k+1 event continues the attempt
# with the latest start among the attempts at step k at or before it (ASOF JOIN), if it is
# within 7 days of that start. Counting members per step of these chains is exactly "some
# step-1 event is followed, in order and within 7 days of it, by steps 2..k".
chains = [f"c1 AS MATERIALIZED (SELECT member_id, ts, ts AS start FROM e WHERE event = '{steps[0]}')"]
for k in range(1, len(steps)):
    chains.append(f"""c{k + 1} AS MATERIALIZED (
  SELECT x.member_id, x.ts, c.start
  FROM (SELECT member_id, ts FROM e WHERE event = '{steps[k]}') x
  ASOF JOIN c{k} c ON x.member_id = c.member_id AND x.ts >= c.ts
  WHERE x.ts <= c.start + {week})""")
query = "WITH " + ",\n".join(chains) + "\nSELECT " + ", ".join(
    f"(SELECT count(DISTINCT member_id) FROM c{k + 1})" for k in range(len(steps)))

def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime

quanzi, duck = [], []
for run in range(runs):
    # quanzi, end to end from the file, as a user runs it.
    before = cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        ["./target/release/quanzi", "analyze", "funnel", "--input", "scratch/events.csv",
         "--steps", ",".join(steps), "--mode", "ordered", "--window", "7d", "--threads", "2",
         "--output", "scratch/quanzi_funnel.csv"],
        check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - started
    used = cpu(resource.RUSAGE_CHILDREN) - before
    line = next(l for l in out.splitlines() if l.startswith("timing"))
    read, compute, total = [float(x) for x in re.findall(r"([0-9.]+) s", line)]
    quanzi.append((total, read, compute, wall, used))
    if run == 0:
        print(out, end="")
    ours = [int(r["members"]) for r in csv.DictReader(open("scratch/quanzi_funnel.csv"))
            if r["breakdown"] == "(all)"]
    # DuckDB, the same file: read_csv into a table of the funnel's events, then the query.
    con = duckdb.connect()
    con.execute("SET threads = 2")
    before = cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    con.execute(load)
    loaded = time.perf_counter()
    theirs = list(con.execute(query).fetchone())
    done = time.perf_counter()
    used_duck = cpu(resource.RUSAGE_SELF) - before
    con.close()
    duck.append((done - started, loaded - started, done - loaded, done - started, used_duck))
    print(f"run {run + 1}   quanzi {total:.2f} s (read {read:.2f} s, funnel {compute:.3f} s; process {wall:.2f} s, cpu {used:.2f} s)"
          f"   duckdb {done - started:.2f} s (read_csv {loaded - started:.2f} s, query {done - loaded:.2f} s; cpu {used_duck:.2f} s)")
    if ours != theirs:
        raise SystemExit(f"the step counts differ: quanzi {ours}, duckdb {theirs}")

print(f"{'step':<20}{'quanzi':>12}{'duckdb':>12}")
for step, a, b in zip(steps, ours, theirs):
    print(f"{step:<20}{a:>12}{b:>12}")
q, d = min(quanzi), min(duck)
print(f"best of {runs}     quanzi {q[0]:.2f} s (read+parse {q[1]:.2f} s, funnel {q[2]:.3f} s)   "
      f"duckdb {d[0]:.2f} s (read_csv {d[1]:.2f} s, query {d[2]:.2f} s)   {d[0] / q[0]:.1f}x end to end, "
      f"{d[2] / q[2]:.1f}x funnel only")
print(f"median cpu  quanzi {sorted(x[4] for x in quanzi)[runs // 2]:.2f} s   duckdb {sorted(x[4] for x in duck)[runs // 2]:.2f} s")
print("step counts agree")
PY
