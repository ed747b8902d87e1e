#!/usr/bin/env bash
# The session's GPU round: serving and training benchmarks (issue 12), then the workshop spread (issue 11).
set -u
L=$OUT/logs; mkdir -p $L
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*" | tee -a $L/times.txt; }
nvidia-smi > $L/nvidia-smi.txt 2>&1
stamp start
# A plain generate with the watermark processor ran at 20 tokens/s for one row here: leave it out.
timeout 110 python3 benchmarks/bench_serving.py --model embedded --device cuda --configs marked \
    --modes engine server --concurrency 64 16 --max-tokens 128 --rounds 1 \
    --out $OUT/serving.json > $L/serving.txt 2>&1; stamp "serving rc=$?"
timeout 60 python3 benchmarks/bench_training.py --device cuda --students public public@0.5 scratch-30m \
    --batch-size 16 --grad-accum 2 --max-len 512 --steps 12 --out $OUT/training.json > $L/training.txt 2>&1
stamp "training rc=$?"
left=$(( 545 - ($(date +%s) - t0) ))
timeout $left python3 -m casestudy.report.spread --profile workshop --seeds 0 1 2 --jobs 3 \
    --set 01_collect.source=frozen > $L/spread.txt 2>&1; stamp "spread rc=$?"
python3 -m casestudy.report.spread --profile workshop --seeds 0 1 2 --summarise-only > $L/spread-summary.txt 2>&1
cp /tmp/runs/workshop-spread.* $OUT/ 2>/dev/null
for s in 1 2; do cp /tmp/runs/seed$s/workshop/spread.log $L/spread-seed$s.log 2>/dev/null; done
stamp done
