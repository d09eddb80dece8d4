# The whole test splits, the shipped weights (README.md here; written before it runs).
# After the tools/device_parts.sh calls (DIRS: the k0.33 weights and static.f, held out of the
# checkout), in the last call:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; bash docs/results/full_test/score.sh start; bash docs/results/full_test/score.sh wait 480
# then `bash docs/results/full_test/score.sh wait 540` until it prints "all done".
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/full/out; mkdir -p "$o" /tmp/full/sent
case "${1:?start | wait SECONDS}" in
  start)
    tail -n 2 /tmp/setup.log 2>/dev/null
    k05=$PWD/mlx_ifp/weights/smollm2-135m-instruct
    k033=$(find /tmp/carry -type d -name smollm2-135m-instruct-k0.33 | head -n 1)
    staticf=$(find /tmp/carry -type d -name staticf | head -n 1)
    ls "$k033" "$staticf" || exit 2
    r=/tmp/full/runs; mkdir -p "$r/k0.5-rw25f" "$r/k0.5-static"
    ln -sfn "$k05" "$r/k0.5-rw25f/stage2"; ln -sfn "$staticf" "$r/k0.5-static/stage2"
    D="--limit ${LIMIT:-1000} --gen-limit 0 --domains math,code,science,prose,general"
    T="--limit ${LIMIT:-1000} --no-griffin --examples 16 --reroute 16 --split test --examples-from valid"
    T="$T --domains math,code,science,prose,general"
    # one job: python3 ARGS -o NAME.json, written whole then renamed; its exit code in NAME.rc
    run() { local name=$1; shift
      python3 "$@" -o "$o/.$name.json" > "/tmp/full/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"
      echo $? > "/tmp/full/$name.rc"; }
    export -f run; export o
    skip=" ${SKIP:-} "  # names already scored (the first try's fair table came back whole)
    # the two eval_task_masks jobs one after the other: side by side they ran out of GPU memory
    [[ $skip == *" test_fair_full "* ]] && touch /tmp/full/skip_fair
    [ -f /tmp/full/skip_fair ] || (setsid nohup bash -c 'run test_fair_full tools/eval_ifp.py --runs "$1" --keep 0.5 --arms rw25f --stage stage2 $2' _ "$r" "$D" < /dev/null > /dev/null 2>&1 &)
    (setsid nohup bash -c 'run test_rw25f_full tools/eval_task_masks.py --run "$1" --keep 0.5 $3; run test_k033_full tools/eval_task_masks.py --run "$2" --keep 0.33 $3' _ "$k05" "$k033" "$T" < /dev/null > /dev/null 2>&1 &)
    sleep 2; echo started ;;
  wait)
    t0=$(date +%s)
    finished() { [ -f /tmp/full/test_k033_full.rc ] && { [ -f /tmp/full/test_fair_full.rc ] || [ -f /tmp/full/skip_fair ]; }; }
    while :; do
      finished && break
      [ $(($(date +%s) - t0)) -ge "${2:-480}" ] && break
      sleep 15
    done
    for f in /tmp/full/*.log; do echo "== $f"; tail -c 600 "$f"; echo; done
    for f in "$o"/*.json; do
      [ -f "$f" ] || continue; k=$(basename "$f"); [ -f "/tmp/full/sent/$k" ] && continue
      cp "$f" "$OUT/" && touch "/tmp/full/sent/$k"
    done
    cp /tmp/full/*.log "$OUT/" 2>/dev/null
    finished && echo "all done: $(cat /tmp/full/*.rc | tr '\n' ' ')" ;;
esac
