#!/usr/bin/env bash
# One short GPU check (at most ~8 minutes) for a bare CUDA machine:
#   bash benchmarks/gpu_check.sh            # -> reports/gpu_check.json
# It installs this package when it is missing (its dependencies must be there: torch,
# numpy, pandas, pyarrow, scipy, matplotlib, tqdm), prints nvidia-smi, then runs
# benchmarks/gpu_check.py: ML-100k with the default config on CUDA with mixed precision
# (one seed; the data from data/ or $SASREC_DATA_DIR, downloaded when the machine can), the
# retail preset's epoch estimate and evaluation per 1k users, and peak GPU memory.
# Without a CUDA device it says so, writes {"cuda": false, ...} and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${GPU_CHECK_OUT:-reports/gpu_check.json}
LIMIT=${GPU_CHECK_SECONDS:-460}

if ! "$PYTHON" -c "import sasrec_utils" 2>/dev/null; then
    echo "== installing sasrec_utils (no dependencies: they must be installed)"
    "$PYTHON" -m pip install -q --no-deps --no-build-isolation -e . \
        || { echo "gpu_check: could not install sasrec_utils with $PYTHON" >&2; exit 1; }
fi

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    nvidia-smi
else
    echo "gpu_check: no CUDA device here (nvidia-smi is missing or finds no GPU)"
fi
timeout "$LIMIT" "$PYTHON" benchmarks/gpu_check.py --out "$OUT"
