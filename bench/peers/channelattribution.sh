#!/usr/bin/env bash
# Side by side: ChannelAttribution (PyPI) and quanzi on the same synthetic path table of
# 1M journeys × 10 channels, in one run: Markov order 1 removal effects and run time, and
# ChannelAttribution's simulation error against quanzi's exact solve. Installs
# ChannelAttribution (built from source: a C++ compiler is needed) into scratch/peers-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
journeys=${JOURNEYS:-1000000}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q ChannelAttribution==2.2.5 pandas matplotlib
cargo build --release -q -p quanzi
echo "== quanzi"
./target/release/quanzi bench attribution --journeys "$journeys" --channels 10 --output scratch/paths.csv | tee scratch/quanzi_attribution.txt
echo "== ChannelAttribution"
"$venv/bin/python" - <<'PY'
import re, time
import pandas as pd
from ChannelAttribution import markov_model
data = pd.read_csv("scratch/paths.csv")
started = time.perf_counter()
out = markov_model(data, "path", "total_conversions", var_value="total_conversion_value",
                   var_null="total_null", order=1, out_more=True, verbose=0)
took = time.perf_counter() - started
theirs = {r.channel_name: r.removal_effects_conversion for r in out["removal_effects"].itertuples()}
line = next(l for l in open("scratch/quanzi_attribution.txt") if l.startswith("markov1"))
ours = {c: float(e) for c, e in re.findall(r"(\w+)=([0-9.]+)", line)}
print(f"markov_model order 1 (defaults): {took:.2f} s")
worst = 0.0
# ChannelAttribution reports removal effects scaled so the largest is 1; scale ours the
# same way to compare.
top_ours = max(ours.values()); top_theirs = max(theirs.values())
for channel in sorted(ours):
    a = ours[channel] / top_ours
    b = theirs.get(channel, float("nan")) / top_theirs
    error = abs(b - a) / a
    worst = max(worst, error)
    print(f"  {channel:<6} quanzi {a:.6f}   ChannelAttribution {b:.6f}   relative difference {error:.2%}")
print(f"largest relative difference of ChannelAttribution's simulated removal effects from the exact ones: {worst:.2%}")
PY
