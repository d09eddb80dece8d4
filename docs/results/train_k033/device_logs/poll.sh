# print the lanes' last progress lines every 30 s for up to $1 s, then copy logs to $OUT
T=${1:-540}; t0=$(date +%s)
while :; do
  for f in /tmp/runs/k*-*/stage*.log; do [ -f "$f" ] && echo "$f: $(tr '\r' '\n' < "$f" | grep -a 'step\|validation\|probe\|Error\|error' | tail -n 1)"; done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  grep -l TRAINDONE /tmp/lane_*.log 2>/dev/null
  [ "$(grep -ls TRAINDONE /tmp/lane_*.log 2>/dev/null | wc -l)" -ge "$(ls /tmp/lane_*.log | wc -l)" ] && break
  [ $(( $(date +%s) - t0 )) -ge "$T" ] && break
  sleep 30
done
mkdir -p $OUT/logs; for f in /tmp/runs/k*-*/stage*.log; do [ -f "$f" ] && cp "$f" "$OUT/logs/$(basename $(dirname $f))-$(basename $f)"; done; cp /tmp/lane_*.log $OUT/logs/ 2>/dev/null; true
