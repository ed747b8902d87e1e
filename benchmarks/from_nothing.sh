#!/bin/bash
# Time the workshop's "from nothing": a fresh clone with no virtualenv, no pip cache and no
# model cache, then the README's one command, with the environment and the report timed apart.
#
#   benchmarks/from_nothing.sh [PROFILE] [WHERE]     # defaults: workshop, /tmp/from-nothing
#
# Run it on an idle machine (the figures are wall-clock). It clones this repository's
# committed HEAD, so commit first. The run's notebooks and report land in WHERE/runs/PROFILE/.
set -euo pipefail
profile=${1:-workshop}
where=${2:-/tmp/from-nothing}
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
rm -rf "$where"
git clone --quiet "$repo" "$where"
cd "$where"
export PIP_NO_CACHE_DIR=1
unset CASESTUDY_CACHE CASESTUDY_RUNS
stamp() { date -u +%FT%TZ; }
start=$(date +%s)
echo "start $(stamp) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
make .venv/.installed
env_done=$(date +%s)
echo "environment $((env_done - start)) s"
make report PROFILE="$profile"
end=$(date +%s)
echo "report $((end - env_done)) s; total $((end - start)) s; end $(stamp)"
echo "notebooks (s): $(tr -d '\n ' < "runs/$profile/timings.json")"
