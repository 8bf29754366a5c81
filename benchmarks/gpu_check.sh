#!/usr/bin/env bash
# The GPU checks in one go, for a machine with a CUDA GPU (about 11 minutes on an H200), most valuable first:
# the throughput benchmark (it also compiles the Warp kernels into the cache), a short paper-preset run on warp
# that is then evaluated on CPU MuJoCo, and the conformance suite on the GPU. A step that fails or runs past its time is
# recorded in timings.txt and the next one still runs.
#   bash benchmarks/gpu_check.sh [OUT]      (OUT: where figures and logs go; default ./gpu_check)
# Needs: pip install torch '.[gpu]' (a CUDA torch), and walk.h5 trot.h5 in the working directory or
# BANKS="a.h5 b.h5". PY (default python) and AMP_DATA (default amp-data) name the interpreter and the CLI;
# THROUGHPUT_ARGS (default "--seconds 3"), PAPER_MINUTES (default 2) and PAPER_ARGS (extra train options) size
# the steps; STEPS (default "throughput paper conformance") picks which run.
# It writes eight files to OUT: gpu.txt, timings.txt, gpu_throughput.{txt,json}, paper_run.txt,
# paper_metrics.csv, paper_eval.json, conformance.txt.
set -uo pipefail
out=${1:-gpu_check}
mkdir -p "$out"
banks=${BANKS:-"walk.h5 trot.h5"}
py=${PY:-python}
amp_data=${AMP_DATA:-amp-data}
run_dir=$(mktemp -d)/paper-warp

step() {   # step NAME SECONDS CMD...: run CMD under a time limit, log its exit status and wall time
  local name=$1 limit=$2 t0=$SECONDS rc
  shift 2
  timeout "$limit" "$@"
  rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s (limit $limit s)" | tee -a "$out/timings.txt"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
$py -c "import torch, warp, mujoco, mujoco_warp; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'warp', warp.config.version, 'mujoco', mujoco.__version__, 'kernel cache', warp.config.kernel_cache_dir)" \
  2>&1 | tee -a "$out/gpu.txt"

steps=" ${STEPS:-throughput paper conformance} "
[[ $steps == *" throughput "* ]] && step throughput 240 bash -o pipefail -c "$py benchmarks/gpu_throughput.py --banks $banks ${THROUGHPUT_ARGS:---seconds 3} \
  --json '$out/gpu_throughput.json' 2>&1 | grep -v '^Module' | tee '$out/gpu_throughput.txt'"
if [[ $steps == *" paper "* ]]; then
step paper_train $((${PAPER_MINUTES:-2} * 60 + 60)) bash -o pipefail -c "$amp_data train $banks --preset paper --backend warp \
  --minutes ${PAPER_MINUTES:-2} ${PAPER_ARGS:-} --out '$run_dir' 2>&1 | grep -v '^Module' | tail -25 | tee '$out/paper_run.txt'"
cp "$run_dir/metrics.csv" "$out/paper_metrics.csv" 2>/dev/null
cat "$run_dir/summary.json" >> "$out/paper_run.txt" 2>/dev/null
step paper_eval_on_cpu_mujoco 90 bash -o pipefail -c "$amp_data eval '$run_dir' --json > '$out/paper_eval.json'"
fi
[[ $steps == *" conformance "* ]] && step conformance 300 bash -o pipefail -c "AMP_DATA_WARP_DEVICE=cuda:0 $py -m pytest -q tests/test_backend_contract.py \
  tests/test_terrain.py -m 'not slow' -k 'contract or ground or grounds' 2>&1 | tee '$out/conformance.txt'"
echo "figures in $out/"
