# The LoRA-scale grid on the H200 (twenty-seventh session), after the tools/device_parts.sh calls:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/lora_scale/gpu.sh
# Copies of the shipped keep-0.5 folder (xNN) and of its learned static control
# (docs/results/train_long/k0.5-static, sNN) with lora_parameters.scale = 20 * NN / 100, scored
# by tools/eval_ifp.py --choose on validation, then test (for the record). Then the rule of
# README.md here picks the predictor's scale from validation alone, and tools/eval_task_masks.py
# --reroute 16 scores x100 and the pick on test (the re-picked rows `generate` runs).
# KEEP=0.33 SHIPPED=mlx_ifp/weights/smollm2-135m-instruct-k0.33 STATIC=none: the keep-0.33
# default's grid (no static control of it is kept); OUT=DIR writes the results there.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
tail -n 2 /tmp/setup.log 2>/dev/null
k=${KEEP:-0.5} R=/tmp/lscale$k; o=$OUT; mkdir -p "$o"
for s in ${SCALES:-100 85 75 65 50}; do
  for pair in "x ${SHIPPED:-mlx_ifp/weights/smollm2-135m-instruct}" "s ${STATIC:-docs/results/train_long/k0.5-static/stage2}"; do
    read -r tag src <<< "$pair"; [ "$src" = none ] && continue
    d=$R/k$k-$tag$s/stage2; mkdir -p "$d"; cp "$src"/* "$d"/
    python3 -c "import json,sys; p='$d/adapter_config.json'; c=json.load(open(p)); c['lora_parameters']['scale']=20.0*$s/100; json.dump(c,open(p,'w'),indent=2)"
  done
done
arms=$(cd $R && ls -d k$k-* | sed "s/^k$k-//" | paste -sd,)
E="--runs $R --keep $k --arms $arms --choose --limit 24 --gen-limit 0 --domains math,code,science,prose,general"
for split in valid test; do
  python3 tools/eval_ifp.py $E --split $split -o "$o/${split}_grid.json" 2>&1 | grep -v Warn | grep "keep"
done
pick=$(python3 - "$o/valid_grid.json" <<'PY'
import json, sys
rows = {r["row"]: r for r in json.load(open(sys.argv[1]))["rows"]}
x = {n.split("(")[1].split(")")[0]: r for n, r in rows.items() if n.startswith("IFP (x")}
best = min(x, key=lambda a: x[a]["kl"])
print(best if x[best]["nll"] < x["x100"]["nll"] and best != "x100" else "x100")
PY
)
echo "pick (validation): $pick"
for a in x100 $pick; do
  python3 tools/eval_task_masks.py --run $R/k$k-$a/stage2 --keep $k --limit 24 --examples "" \
    --reroute 16 --no-griffin --split test --domains math,code,science,prose,general \
    -o "$o/test_reroute16_$a.json" 2>&1 | grep -iv warn | tail -n 4
  [ "$pick" = x100 ] && break
done
