#!/usr/bin/env bash
# Side by side: `lifetimes` (PyPI) and `quanzi analyze clv` fit BG/NBD on the CDNOW sample
# that lifetimes ships, in one run. Installs lifetimes into scratch/peers-venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=scratch/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q lifetimes==0.11.3
cargo build --release -q -p quanzi
data=crates/quanzi-domain/src/analytics/clv/testdata/cdnow_customers_summary.csv
echo "== lifetimes $("$venv/bin/python" -c 'import lifetimes; print(lifetimes.__version__)')"
"$venv/bin/python" - "$data" <<'PY'
import sys, time
import pandas as pd
from lifetimes import BetaGeoFitter
data = pd.read_csv(sys.argv[1])
started = time.perf_counter()
fit = BetaGeoFitter(penalizer_coef=0.0).fit(data["frequency"], data["recency"], data["T"])
took = time.perf_counter() - started
p = fit.params_
print(f"BG/NBD        r {p['r']:.6f}   alpha {p['alpha']:.6f}   a {p['a']:.6f}   b {p['b']:.6f}   ({took:.2f} s)")
PY
echo "== quanzi"
./target/release/quanzi analyze clv --input "$data"
