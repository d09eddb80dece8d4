# The run on the GPU machine (fifty-eighth session), after tools/device_parts.sh, in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/prefill_ended/device.sh
set -u
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
cp /tmp/setup.log $OUT/ 2>/dev/null
timeout ${T:-540} python3 docs/results/prefill_ended/ended_prefill.py -n 12 -o $OUT/ended.json > $OUT/ended.log 2>&1
echo "rc $?" >> $OUT/ended.log
tail -n 8 $OUT/ended.log
