#!/usr/bin/env bash
# Side by side: `lifetimes` (PyPI) and quanzi fit BG/NBD on the same 1M simulated customers,
# in one run. `quanzi bench clv` simulates them (CDNOW's rates, α in days, ages over two
# years), writes the summary table and times its own fit; then lifetimes'
# BetaGeoFitter(penalizer_coef=0.0) fits the same file, once on the raw rows (how it is
# normally called) and once on the distinct rows with counts as `weights` (lifetimes' own
# way of collapsing duplicates), and the largest parameter differences are printed.
# Twice: with times in whole days (many customers alike) and with `--continuous` (none
# alike). Installs lifetimes into scratch/peers-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q lifetimes==0.11.3
cargo build --release -q -p quanzi
echo "== lifetimes $("$venv/bin/python" -c 'import lifetimes; print(lifetimes.__version__)'), $(nproc) cores, $(date -u +%F)"
for mode in days continuous; do
  data=scratch/clv_1m.csv
  flags=()
  if [ "$mode" = continuous ]; then
    data=scratch/clv_1m_continuous.csv
    flags=(--continuous)
  fi
  echo
  echo "== quanzi, times in $mode"
  ./target/release/quanzi bench clv --customers 1000000 "${flags[@]}" --output "$data" \
    | tee scratch/clv_1m_quanzi.out
  echo "== lifetimes, times in $mode"
  "$venv/bin/python" - "$data" scratch/clv_1m_quanzi.out <<'PY'
import sys, time
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter
data = pd.read_csv(sys.argv[1])
line = next(l for l in open(sys.argv[2]) if l.startswith("quanzi params"))
words = line.split()[2:]
ours = {words[i]: float(words[i + 1]) for i in range(0, len(words), 2)}

def fit(frame, weights=None):
    started = time.perf_counter()
    f = BetaGeoFitter(penalizer_coef=0.0).fit(frame["frequency"], frame["recency"], frame["T"], weights=weights)
    return f.params_, time.perf_counter() - started

freq, rec, T = data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()
ones = np.ones_like(rec)

def log_likelihood(p):
    # lifetimes' own formula (a mean over customers), on the unscaled times, summed back.
    logs = np.log([p["r"], p["alpha"], p["a"], p["b"]])
    return -BetaGeoFitter._negative_log_likelihood(logs, freq, rec, T, ones, 0.0) * len(rec)

def show(label, p, took):
    worst = max(abs(p[k] - ours[k]) for k in ours)
    worst_rel = max(abs(p[k] - ours[k]) / ours[k] for k in ours)
    print(f"{label:<28} r {p['r']:.6f}   alpha {p['alpha']:.6f}   a {p['a']:.6f}   b {p['b']:.6f}   ({took:.2f} s)")
    print(f"{'':<28} largest |lifetimes − quanzi| {worst:.1e} (relative {worst_rel:.1e}); "
          f"log-likelihood {log_likelihood(p):.4f}, {log_likelihood(p) - log_likelihood(ours):+.1e} against quanzi's")

p, took = fit(data)
show(f"raw rows ({len(data)})", p, took)
started = time.perf_counter()
grouped = data.groupby(["frequency", "recency", "T"]).size().reset_index(name="weights")
grouping = time.perf_counter() - started
p, took = fit(grouped, grouped["weights"])
show(f"weighted rows ({len(grouped)})", p, took)
print(f"{'':<28} (grouping with pandas took {grouping:.2f} s more)")
print(f"quanzi                       r {ours['r']:.6f}   alpha {ours['alpha']:.6f}   a {ours['a']:.6f}   b {ours['b']:.6f}")
print(f"{'':<28} log-likelihood {log_likelihood(ours):.4f} (by lifetimes' formula)")
PY
done
