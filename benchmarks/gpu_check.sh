#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA GPU (about 10 minutes): the conformance suite on the
# GPU, the throughput benchmark, and a short paper-preset run on warp that is then played on CPU MuJoCo.
#   bash benchmarks/gpu_check.sh [OUT]      (OUT: where figures and logs go; default ./gpu_check)
# Needs: pip install torch '.[gpu]' (a CUDA torch), and walk.h5 trot.h5 in the working directory or
# BANKS="a.h5 b.h5".
set -euo pipefail
out=${1:-gpu_check}
mkdir -p "$out"
banks=${BANKS:-"walk.h5 trot.h5"}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
AMP_DATA_WARP_DEVICE=cuda:0 python -m pytest -q tests/test_backend_contract.py tests/test_terrain.py -m "not slow" \
  -k "contract or ground or grounds" 2>&1 | tee "$out/conformance.txt"
python benchmarks/gpu_throughput.py --banks $banks --seconds 3 --json "$out/gpu_throughput.json" 2>&1 \
  | grep -v "^Module" | tee "$out/gpu_throughput.txt"
amp-data train $banks --preset paper --backend warp --minutes 3 --out "$out/paper-warp" 2>&1 \
  | grep -v "^Module" | tail -20 | tee "$out/paper_run.txt"
amp-data eval "$out/paper-warp" --json > "$out/paper_eval.json"
echo "figures in $out/"
