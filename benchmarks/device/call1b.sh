#!/usr/bin/env bash
# Call 1b (carry .device/gB1 .device/call1b.sh): stage part B1.
[ -d /tmp/site ] || { echo "COLD"; exit 3; }
cp .device/gB1 /tmp/stage/ && ls -la /tmp/stage
