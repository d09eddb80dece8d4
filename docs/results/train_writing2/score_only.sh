# The device's last resort (no lanes): the shipped default and its control (CONTROL, a folder; the
# learned static static.w2 by default) on every test item, both
# tools side by side, each JSON copied to $OUT as it is written (score_w.sh's first two lines).
# CHOOSE=1 (device time short): the fair table's rows a verdict needs only (dense, the control,
# the arm per input; eval_ifp --choose), not GRIFFIN, static-act, random, the swaps.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
# Both are copied out of the checkout: each call re-sends it, and a folder that travelled in
# .carry/ is an empty one there (the thirty-ninth session's test_w_full "holds neither").
o=/tmp/after/out r=/tmp/score_w; mkdir -p "$o" /tmp/after "$r/k0.5-rw25w" "$r/k0.5-static"
for p in mlx_ifp/weights/smollm2-135m-instruct:k0.5-rw25w ${CONTROL:-docs/results/train_writing2/staticw2}:k0.5-static; do
  src=${p%%:*} dst=$r/${p##*:}/stage2
  [ -f "$dst/ifp_config.json" ] && continue
  [ -f "$src/ifp_config.json" ] || src=/tmp/carry/.carry/$(basename "$src")
  rm -rf "$dst"; cp -r "$src" "$dst" && [ -f "$dst/ifp_config.json" ] || { echo "no $src" >&2; exit 2; }
done
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "$o/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general
T="--limit 1000 --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
[ -f /tmp/after/only ] || {  # a second call only waits and copies
touch /tmp/after/only
# One after the other: side by side on an H100 (80 GB) both ran out of GPU memory at once
# (the fortieth session), each process's MLX buffer cache growing into the other's room.
( run test_w_full tools/eval_task_masks.py --run "$r/k0.5-rw25w/stage2" $T --domains $F
  run test_fair_w_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25w --stage stage2 \
    --limit 1000 --gen-limit 0 --batch 24 --domains $F ${CHOOSE:+--choose}
  touch /tmp/after/done ) &
}
t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt "${1:-420}" ]; do
  cp "$o"/*.json "$o"/*.log "$OUT/" 2>/dev/null
  [ -f /tmp/after/done ] && break  # both ended (written or failed)
  sleep 10
done
cp "$o"/*.json "$o"/*.log "$OUT/" 2>/dev/null; ls -la "$OUT"; tail -n 3 "$o"/*.log
