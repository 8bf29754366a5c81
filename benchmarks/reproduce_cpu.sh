#!/usr/bin/env bash
# The paper's comparison at CPU scale, as this README reports it: AMP+SAC against AMP+PPO over seeds, both
# from scratch and warm-started from inverse-dynamics pretraining, then `amp-data compare` and the policy
# figures of each algorithm's best-evaluated seed.
#
#   bash benchmarks/reproduce_cpu.sh OUT [SEEDS] [STEPS] [PRETRAINED_STEPS]
#
# OUT: a folder for banks, runs and figures (made if missing; runs already complete there are kept, so the
# script resumes after an interruption). SEEDS: "1 2 3 4 5" by default; STEPS: 1280000 (the cpu preset's
# AMP+SAC budget, given to both algorithms: equal samples); PRETRAINED_STEPS: 640000 for the warm-started runs.
# Both algorithms use the cpu preset (train's default for AMP+PPO; AMP+SAC's is cpu-dog, whose gait clock and
# feedforward PPO has no runs of) with the AMP windows of the README's five-seed table (5 frames, 3 steps apart).
# PRETRAIN_ARGS (environment) adds options to `amp-data pretrain`, e.g. "--steps 2000 --epochs 1" for a smoke run.
# Two runs go at once, one torch thread each (two 2-thread runs on 2 cores slow each other badly); on this
# 2-core machine the whole script takes about 5 hours, the AMP+SAC runs most of it.
set -euo pipefail
out=${1:?usage: reproduce_cpu.sh OUT [SEEDS] [STEPS] [PRETRAINED_STEPS]}
seeds=${2:-1 2 3 4 5}
steps=${3:-1280000}
pre_steps=${4:-640000}
mkdir -p "$out/runs" "$out/figs" "$out/logs"
banks=("$out/walk.h5" "$out/trot.h5")
[ -f "${banks[0]}" ] && [ -f "${banks[1]}" ] || amp-data bank gather walk trot -o "$out"
common=(--preset cpu --set amp.window_frames=5 --set amp.frame_stride=3 --set torch_threads=1)

train() {   # train NAME ARGS...: one run, skipped when its summary.json says it completed
  local name=$1; shift
  local run="$out/runs/$name"
  if [ -f "$run/summary.json" ] && grep -q '"status": "completed"' "$run/summary.json"; then return; fi
  if [ -f "$run/checkpoint.pt" ]; then
    amp-data train --resume --out "$run" "${@:1:2}" > "$out/logs/$name.log" 2>&1   # ${@:1:2}: --steps N
  else
    amp-data train "${banks[@]}" --out "$run" "$@" "${common[@]}" > "$out/logs/$name.log" 2>&1
  fi
}

for algo in sac ppo; do
  [ -f "$out/runs/pretrain-$algo.pt" ] || amp-data pretrain "${banks[@]}" --algo $algo -o "$out/runs/pretrain-$algo.pt" \
    "${common[@]:0:6}" ${PRETRAIN_ARGS:-} > "$out/logs/pretrain-$algo.log" 2>&1
done

lane() {    # lane ALGO: every seed from scratch, then warm-started
  local algo=$1 s
  for s in $seeds; do
    train "$algo-s$s" --steps "$steps" --algo "$algo" --seed "$s" --set eval_every_steps=64000
  done
  for s in $seeds; do
    train "$algo-pre-s$s" --steps "$pre_steps" --algo "$algo" --seed "$s" --set eval_every_steps=32000 \
      --init-from "$out/runs/pretrain-$algo.pt" --init-parts actor,norm,critics
  done
}
lane sac & lane ppo & wait

cd "$out/runs"
amp-data compare sac-s*/ ppo-s*/ --by algo -o ../figs/sac_vs_ppo | tee ../figs/sac_vs_ppo.txt
for algo in sac ppo; do
  amp-data compare "$algo"-s*/ "$algo"-pre-s*/ --by init_parts -o "../figs/pretraining_$algo" | tee "../figs/pretraining_$algo.txt"
  # Figs. 3-7 for the seed whose final evaluation walked fastest
  best=$(for r in "$algo"-s*/; do echo "$(tail -n 1 "$r/eval.csv" | cut -d, -f6) ${r%/}"; done | sort -g | tail -n 1 | cut -d' ' -f2)
  amp-data play "$best" --command 0.8@8,1.8@8 -o "../figs/rollout_$best.h5"
  amp-data inspect "../figs/rollout_$best.h5" --reference "${banks[@]}" --plot "../figs/policy_$best"
  amp-data eval "$best" > "../figs/eval_$best.txt"
done
echo "done: figures in $out/figs"
