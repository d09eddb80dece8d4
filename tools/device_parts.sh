#!/usr/bin/env bash
# Cut MLX's CUDA backend and the SmolLM2 GGUF into transfers that fit the GPU machine beside the checkout.
#   bash ../shared/device/prepare-mlx-cuda.sh && bash ../shared/device/prepare-model.sh
#   bash tools/device_parts.sh [DIR ...]  # then make the calls it prints, in order, each within 30 s
# DIRs (e.g. resumable checkpoints brought back from an earlier session) travel too: setup.sh
# unpacks them under /tmp/carry (DIR's path kept). GGUF=FILE sends another model's GGUF instead of
# SmolLM2's (e.g. the cached Qwen2.5-Coder-1.5B one; setup.sh puts it in the cache under its own
# name, checked by its sha256 taken here), WHEELS="a.whl ..." more wheels (gguf, to convert it).
# The device takes 64 MiB per call, the checkout (tracked + untracked, not ignored) included. The
# shared scripts stage fixed-size parts (.dva, .dvb, ~39 and ~35 MiB, and three model parts) that
# stop fitting once the checkout grows (the shipped weights, the kept static controls). This
# reads them and the cached GGUF, cuts both byte streams into pieces of one call's room, packs
# the pieces into .dvc1, .dvc2, ... (one call each) and .dvm3 (the last call: the corpus, the
# checksum, the tail pieces and a setup.sh written here), and prints the calls. setup.sh joins
# the pieces by name, re-joins a GGUF whose checksum does not match (a half-made one from an
# earlier call), and sets the environment.
# The corpus in .dvm3 must be one `data build` made with the Debian prose packages installed
# (all five domains), beside what was made from it (facts-*, ...): else refused, unless PARTIAL=1.
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then  # the usage and the head of this file; nothing run
  echo "usage: bash tools/device_parts.sh [DIR ...]"; sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0
fi
root=$(git rev-parse --show-toplevel); cd "$root"
g=${GGUF:-${MLX_IFP_CACHE:-$HOME/.cache/mlx_ifp}/embedded/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -d .dva ] && [ -d .dvb ] && [ -f .dvm3/sha256 ] || { echo "run the two shared prepare scripts first" >&2; exit 2; }
[ -f "$g" ] || { echo "no $g: run mlx_ifp generate -p hi once first (or --model NAME)" >&2; exit 2; }
sha=$(sha256sum "$g" | cut -d' ' -f1)
if [ -f .dvm3/corpus.tar.xz ] && [ "${PARTIAL:-0}" != 1 ]; then  # the tools read the one v1-* build
  list=$(tar tJf .dvm3/corpus.tar.xz)  # (the forty-second session's run trained one without prose)
  builds=$(grep -cE '^(\./)?v1-[^/]*/manifest\.json$' <<< "$list" || true)  # (with or without ./)
  prose=$(grep -cE '^(\./)?v1-[^/]*/domains/prose/train\.jsonl$' <<< "$list" || true)
  [ "$builds" = 1 ] && [ "$prose" = 1 ] || { echo "the corpus in .dvm3 holds $builds v1-* builds, $prose with prose: one, built with the Debian prose packages, is needed (PARTIAL=1: send it anyway)" >&2; exit 2; }
fi
for w in ${WHEELS:-}; do [ -f "$w" ] || { echo "no wheel $w (WHEELS)" >&2; exit 2; }; done
[ -n "${GGUF:-}" ] || echo "$sha" | cmp -s - .dvm3/sha256 || { echo "$g is not the GGUF in .dvm3/sha256" >&2; exit 1; }
size() { stat -c %s "$@" | awk '{s += $1} END {print s + 0}'; }
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | { xargs -0 stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s}')  # a deleted file counts 0
room=$((64 * 1048576 - 1048576 - tree))  # bytes per call beside the checkout, 1 MiB spare (256 KiB was refused)
[ "$room" -gt 4194304 ] || { echo "the checkout ($((tree / 1048576)) MiB) leaves no room for transfers" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/p"
cp .dva/*.whl .dvb/*.whl ${WHEELS:-} "$tmp/p/" 2>/dev/null || true
cat .dva/part.a? .dvb/part.a? | split -b "$room" -d -a 3 - "$tmp/p/cuda."
split -b "$room" -d -a 3 "$g" "$tmp/p/gguf."
[ $# -eq 0 ] || { tar cf "$tmp/runs.tar" "$@" && split -b "$room" -d -a 3 "$tmp/runs.tar" "$tmp/p/runs."; }
rm -rf .dvm1 .dvm2 .dvm[4-9] .dvc[0-9]* .dvm3/p3 .dvm3/cuda.* .dvm3/gguf.* .dvm3/runs.* .dvm3/*.whl
extra=$(size $(for f in .dvm3/*; do echo "$f"; done))
# first fit, largest first: bin 0 is .dvm3 (the last call), the others one call each
declare -a free=($((room - extra))) dirs=(.dvm3)
for f in $(ls -S "$tmp/p"); do
  s=$(size "$tmp/p/$f"); i=0
  while [ "$i" -lt "${#free[@]}" ] && [ "${free[$i]}" -lt "$s" ]; do i=$((i + 1)); done
  if [ "$i" -eq "${#free[@]}" ]; then
    d=.dvc$i; mkdir -p "$d"; grep -qx "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude
    free+=("$room"); dirs+=("$d")
  fi
  mv "$tmp/p/$f" "${dirs[$i]}/"; free[$i]=$((free[$i] - s))
done
chmod u+w .dvm3/setup.sh 2>/dev/null || true
files() { { ls .dvc*/"$1".* .dvm3/"$1".* 2>/dev/null || true; } | sort -t. -k3; }  # the pieces here, in order (a folder may hold none)
pieces() { files "$1" | sed 's#^.*/#/tmp/stage/#' | tr '\n' ' '; }  # ... and there
cuda=$(pieces cuda); gguf=$(pieces gguf); runs=$(pieces runs)  # joined by these names only: no leftovers of an earlier cut
cat > .dvm3/setup.sh <<'EOF'
# Source this on the GPU machine, from the checkout's root, after the tools/device_parts.sh calls:
#   . .dvm3/setup.sh
# It joins and unpacks MLX's CUDA backend, joins the GGUF (SmolLM2's, or GGUF='s; checked by sha256), unpacks
# the corpus, and sets the environment. While the machine lives, later calls need only the
# `export` line below.
set -u
mkdir -p /tmp/stage && cp .dvm3/cuda.* .dvm3/gguf.* .dvm3/runs.* .dvm3/*.whl /tmp/stage/ 2>/dev/null
if [ ! -f /tmp/site/.complete ]; then  # a half-unpacked backend (a missing piece) is redone
  rm -rf /tmp/site /tmp/site2
  cat CUDA_PIECES | (mkdir -p /tmp/site && cd /tmp/site && xz -dc | tar xf -) \
    && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site2 /tmp/stage/*.whl \
    && { cp -rn /tmp/site2/* /tmp/site/ 2>/dev/null; true; } \
    && PYTHONPATH=/tmp/site python3 -c "import mlx.core, mlx_lm" && touch /tmp/site/.complete
fi
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1
mkdir -p /tmp/cache/embedded /tmp/cache/data
g=/tmp/cache/embedded/GGUF_NAME
ok() { [ "$(sha256sum "$g" 2>/dev/null | cut -d' ' -f1)" = GGUF_SHA ]; }
ok || cat GGUF_PIECES > "$g"
ok || echo "WARNING: the joined GGUF does not match its checksum (a transfer is missing?)"
[ -f .dvm3/corpus.tar.xz ] && tar xJf .dvm3/corpus.tar.xz -C /tmp/cache/data
runs="RUNS_PIECES"  # the folders named to tools/device_parts.sh, if any
[ -z "${runs// }" ] || [ -f /tmp/carry/.complete ] || { mkdir -p /tmp/carry && cat $runs | tar xf - -C /tmp/carry && touch /tmp/carry/.complete && ls /tmp/carry; }
python3 -c "import mlx.core as mx; print('mlx', mx.__version__, mx.default_device())"
EOF
sed -i "s#CUDA_PIECES#$cuda#; s#GGUF_PIECES#$gguf#; s#RUNS_PIECES#$runs#; s#GGUF_NAME#$(basename "$g")#; s#GGUF_SHA#$sha#" .dvm3/setup.sh
[ $# -eq 0 ] || cat $(files runs) | cmp -s - "$tmp/runs.tar" \
  || { echo "the pieces do not join to the folders $*" >&2; exit 1; }
cat $(files gguf) | sha256sum | cut -d' ' -f1 | cmp -s - <(echo "$sha") \
  || { echo "the pieces do not join to the GGUF" >&2; exit 1; }
cat $(files cuda) | cmp -s - <(cat .dva/part.a? .dvb/part.a?) \
  || { echo "the pieces do not join to MLX's CUDA backend" >&2; exit 1; }
echo "checkout $((tree / 1048576)) MiB, $((room / 1048576)) MiB per call; the calls, in order, each within 30 s:"
for ((i = 1; i < ${#dirs[@]}; i++)); do
  echo "  carry [${dirs[$i]}]: mkdir -p /tmp/stage && cp ${dirs[$i]}/* /tmp/stage/"
done
echo "  carry [.dvm3]: . .dvm3/setup.sh && <your work>"
