# The SmolLM2 rate A/B's scores, on the GPU machine after its lanes (`bash tools/device_lanes.sh
# after docs/results/train_lr135/score.sh`): per rate, the predictor arm against its own learned
# static control, validation (the reading) and test (for the record), every row of
# tools/eval_ifp.py, at the step `device_lanes.sh stop` kept (stage2-<STEP>), else the last
# checkpoint; for SHIP_TAG (default lo) the shipped default too (keep its weights in the checkout: move
# only docs/results/ out before tools/device_parts.sh). Then each arm's answer to the README's
# first prompt, greedy. Results in /tmp/after/out.
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
o=/tmp/after/out; mkdir -p "$o"
# the pairs scored: every rw25.TAG lane run.sh started (TAGS= picks some); SHIP_TAG: the one
# scored beside the shipped default
tags=${TAGS:-$(cd /tmp/runs && ls -d k0.5-rw25.* | sed 's/^k0.5-rw25[.]//')} ship=${SHIP_TAG:-lo}
for tag in $tags; do
  r=/tmp/score_$tag; mkdir -p "$r"  # eval_ifp reads <runs>/k0.5-rw25 and its control k0.5-static
  ln -sfn "/tmp/runs/k0.5-rw25.$tag" "$r/k0.5-rw25"; ln -sfn "/tmp/runs/k0.5-static.$tag" "$r/k0.5-static"
  st=$(cd "$r/k0.5-rw25" && ls -d stage2-* 2>/dev/null | sort -t- -k2 -n | tail -n 1); st=${st:-stage2}
  echo "$tag: scoring $st"; [ "$tag" = "$ship" ] && st_ship=$st
  arms=rw25
  if [ "$tag" = "$ship" ] && [ -f mlx_ifp/weights/smollm2-135m-instruct/adapters.safetensors ]; then
    mkdir -p "$r/k0.5-shipped"  # the shipped default, scored beside it (the ship rule's opponent)
    ln -sfn "$PWD/mlx_ifp/weights/smollm2-135m-instruct" "$r/k0.5-shipped/$st"; arms=rw25,shipped
  fi
  E="--runs $r --keep 0.5 --arms $arms --stage $st --limit 24 --gen-limit 0"
  E="$E --domains math,code,science,prose,general"
  python3 tools/eval_ifp.py $E --split valid -o "$o/.valid_$tag.json" > "/tmp/after/valid_$tag.log" 2>&1 \
    && mv "$o/.valid_$tag.json" "$o/valid_$tag.json"
  python3 tools/eval_ifp.py $E -o "$o/.test_$tag.json" > "/tmp/after/test_$tag.log" 2>&1 \
    && mv "$o/.test_$tag.json" "$o/test_$tag.json"
  for a in rw25 static; do
    python3 -m mlx_ifp generate --dequantize --adapter "$r/k0.5-$a/$st" --temp 0 -m 40 \
      -p "What is the capital of France?" > "/tmp/after/paris_$a.$tag.txt" 2>&1
  done
done
for f in /tmp/after/paris_*.txt; do echo "== $(basename "$f" .txt)"; cat "$f"; done > "$o/.paris.txt" \
  && mv "$o/.paris.txt" "$o/paris.txt"
# the shipped-beside pair's packs (float16; a tar over 15 MiB comes back in parts: cat X.tar.part.* > X.tar)
mkdir -p "$o/.pack"
PACK_STAGE=$st_ship OUT=/tmp/after/pk bash tools/device_lanes.sh pack 0.5 "rw25.$ship" "static.$ship" > /tmp/after/pack.log 2>&1 \
  && cp /tmp/after/pk/pack/* /tmp/after/pk/pack.sha256 "$o/.pack/" && mv "$o"/.pack/* "$o/"
