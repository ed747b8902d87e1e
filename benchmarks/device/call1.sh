#!/usr/bin/env bash
# Call 1 (carry .device/whl .device/gA .device/teacher.sha256 .device/call1.sh): wheels into /tmp/site, stage part A.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .device/whl/*.whl 2>&1 | grep -v WARNING
mkdir -p /tmp/stage && cp .device/gA .device/teacher.sha256 /tmp/stage/
export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "
import sys, torch, transformers, papermill, openai, fastapi, casestudy.report.runner, casestudy.distiller.students.train
print('ready: python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__,
      'cuda', torch.cuda.is_available())"
