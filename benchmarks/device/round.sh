#!/usr/bin/env bash
# The GPU round of 2026-11-27: the `gpu` profile (the workshop's frozen collection, students fine-tuned
# whole, the size curve to 50%) through notebooks 01 to 03, then 04 in the time left.
set -u
L=$OUT/logs; mkdir -p $L
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a $L/times.txt; }
nvidia-smi > $L/nvidia-smi.txt 2>&1
stamp start
timeout ${FIRST_S:-450} python3 -m casestudy.report --profile gpu --only 01_collect --only 02_distill --only 03_cost \
    > $L/gpu-01-03.txt 2>&1; stamp "01-03 rc=$?"
left=$(( ${TOTAL_S:-545} - ($(date +%s) - t0) ))
if (( left > 60 )); then
    timeout $left python3 -m casestudy.report --profile gpu --only 04_detect > $L/gpu-04.txt 2>&1; stamp "04 rc=$?"
fi
for f in /tmp/runs/gpu/*/metrics.json; do s=$(basename $(dirname $f)); cp $f $OUT/$s-metrics.json; done
stamp done
