# The anchor A/B's scores, on the GPU machine after its lanes (`bash tools/device_lanes.sh after
# docs/results/train_anchor/score.sh`): both arms at the step `device_lanes.sh stop` kept
# (stage2-<STEP>, else the last checkpoint), every row of tools/eval_ifp.py on validation (the
# reading; "dense + LoRA unpruned" is the drift the anchor limits), then both arms' packs
# (their LoRAs come back for tools/fact_probe.py on a CPU). Results in /tmp/after/out.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_anchor; mkdir -p "$o" "$r"
for t in a0 a1; do ln -sfn "/tmp/runs/k0.5-rw25.$t" "$r/k0.5-$t"; done
st=$(cd "$r/k0.5-a1" && ls -d stage2-* 2>/dev/null | sort -t- -k2 -n | tail -n 1); st=${st:-stage2}
echo "scoring $st"
E="--runs $r --keep 0.5 --arms a0,a1 --stage $st --limit 24 --gen-limit 0"
python3 tools/eval_ifp.py $E --domains math,code,science,prose,general --split valid \
  -o "$o/.valid_anchor.json" > /tmp/after/valid_anchor.log 2>&1 \
  && mv "$o/.valid_anchor.json" "$o/valid_anchor.json"
mkdir -p "$o/.pack"
PACK_STAGE=$st OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 rw25.a0 rw25.a1 > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
