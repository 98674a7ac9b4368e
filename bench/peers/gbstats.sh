#!/usr/bin/env bash
# Side by side: gbstats (GrowthBook's engine, PyPI) and quanzi on the same 1,000 Bayesian
# A/B tests (relative lift, flat prior, 95 % interval), in one run: the largest difference
# in every output and the time per test. Installs gbstats into scratch/peers-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q gbstats==0.8.0
cargo build --release -q -p quanzi
echo "== quanzi"
./target/release/quanzi bench experiments --tests 1000 --output scratch/bayesian.csv
echo "== gbstats $("$venv/bin/pip" show gbstats | sed -n 's/^Version: //p')"
"$venv/bin/python" - <<'PY'
import csv, time
from gbstats.models.statistics import SampleMeanStatistic
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
rows = list(csv.DictReader(open("scratch/bayesian.csv")))
config = EffectBayesianConfig(difference_type="relative")
def run(r):
    a = SampleMeanStatistic(n=int(r["n_a"]), sum=float(r["sum_a"]), sum_squares=float(r["sum_squares_a"]))
    b = SampleMeanStatistic(n=int(r["n_b"]), sum=float(r["sum_b"]), sum_squares=float(r["sum_squares_b"]))
    return EffectBayesianABTest(a, b, config).compute_result()
started = time.perf_counter()
results = [run(r) for r in rows]
took = (time.perf_counter() - started) / len(rows)
worst = {k: 0.0 for k in ["chance_to_win", "expected", "ci_low", "ci_high", "risk_control", "risk_treatment"]}
for r, g in zip(rows, results):
    theirs = {"chance_to_win": g.chance_to_win, "expected": g.expected, "ci_low": g.ci[0], "ci_high": g.ci[1],
              "risk_control": g.risk[0], "risk_treatment": g.risk[1]}
    for k in worst:
        worst[k] = max(worst[k], abs(float(r[k]) - theirs[k]))
print(f"gbstats        {took * 1e6:.1f} µs per test over {len(rows)} tests")
for k, v in worst.items():
    print(f"  largest |quanzi − gbstats| in {k:<15} {v:.2e}")
PY
