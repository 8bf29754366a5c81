#!/usr/bin/env bash
# One configuration over several seeds at once, then `amp-data eval` of each: the imitation issue's seed
# protocol on a machine with many cores, one run per seed with one torch thread, and with DEVICE=cuda the
# updates on its GPU (the environments stay on CPU MuJoCo, one core per run).
#   bash benchmarks/parallel_seeds.sh OUT [train options...]
#   e.g. DEVICE=cuda bash benchmarks/parallel_seeds.sh out/clock --set env.gait_clock=true --set reward.gait_clock=120
# SEEDS (default "1 2 3 4 5"), STEPS (default 1280000, the cpu preset's budget), MINUTES (a time limit per run,
# whichever comes first; default 0: none), DEVICE (default cpu), EVAL_S (the eval's time limit, default 240);
# PY, AMP_DATA and BANKS as in gpu_check.sh. Writes OUT/s<seed>/, each run folder without its checkpoints/
# (checkpoint.pt, the last, stays) and with eval_gait.json and train.log, and OUT/timings.txt.
set -uo pipefail
out=${1:?usage: parallel_seeds.sh OUT [train options...]}
shift
mkdir -p "$out"
banks=${BANKS:-"walk.h5 trot.h5"}
py=${PY:-python}
amp_data=${AMP_DATA:-amp-data}
seeds=${SEEDS:-"1 2 3 4 5"}
t0=$SECONDS
for s in $seeds; do
  # shellcheck disable=SC2086
  $amp_data train $banks --seed "$s" --steps "${STEPS:-1280000}" --minutes "${MINUTES:-0}" --set torch_threads=1 \
    --set device="${DEVICE:-cpu}" "$@" --out "$out/s$s" > "$out/train_s$s.log" 2>&1 &
done
wait
echo "train: $((SECONDS - t0)) s for seeds $seeds" | tee -a "$out/timings.txt"
t0=$SECONDS
for s in $seeds; do
  timeout "${EVAL_S:-240}" $amp_data eval "$out/s$s" --json > "$out/s$s/eval_gait.json" 2> "$out/eval_s$s.err" &
done
wait
echo "eval: $((SECONDS - t0)) s" | tee -a "$out/timings.txt"
for s in $seeds; do
  rm -rf "$out/s$s/checkpoints" "$out/s$s/tb"
  tail -c 3000 "$out/train_s$s.log" > "$out/s$s/train.log" && rm -f "$out/train_s$s.log"
  tail -n 20 "$out/s$s/eval.csv" 2>/dev/null | tail -n 1 | sed "s/^/s$s final eval: /" | tee -a "$out/timings.txt"
done
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))" \
  | tee -a "$out/timings.txt"
