# after both lanes (device glue): pack both runs (float16) and their logs
set -u
while [ "$(grep -ls TRAINDONE /tmp/lane7_*.log | wc -l)" -lt 2 ]; do sleep 3; done
mkdir -p /tmp/pack
python tools/pack_run.py /tmp/runs/k0.5-rw50/stage2 /tmp/runs/k0.5-rw25/stage2 -o /tmp/pack/k0.5 2>&1 | tail -3
echo PACKDONE
