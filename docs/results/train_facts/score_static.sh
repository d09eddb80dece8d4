# The static control's scores, after its lane was rerun alone (run.sh's first try found an empty
# folder where the control should be and that lane stopped at once; score.sh had scored rw25.f
# without its control). The rw25.f rows come again beside it, from the same weights.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out r=/tmp/score_facts; mkdir -p "$o" "$r"
rm -rf "$r/k0.5-staticf"; mkdir -p "$r/k0.5-staticf"; cp -r /tmp/runs/k0.5-static.f/stage2 "$r/k0.5-staticf/stage2"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/k0.5-staticf/stage2/adapter_config.json"
ln -sfn "$r/k0.5-staticf" "$r/k0.5-static"
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
D="--domains math,code,science,prose,general --limit 24 --gen-limit 0"
run valid_choose tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25f --stage stage2 --choose --split valid $D
run test_facts_k05 tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25f --stage stage2 $D
mkdir -p "$o/.pack"
OUT=/tmp/after/pk2 bash tools/device_lanes.sh pack 0.5 static.f > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk2/pack/* /tmp/after/pk2/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
