#!/usr/bin/env bash
# Re-split the staged SmolLM2 GGUF so that every transfer to the GPU machine fits beside the checkout.
#   bash ../shared/device/prepare-mlx-cuda.sh && bash ../shared/device/prepare-model.sh
#   bash tools/device_parts.sh          # then make the calls it prints, in order, each within 30 s
# The device takes 64 MiB per call, the checkout (tracked + untracked, not ignored) included; with
# the learned static control's weights in docs/results/ the checkout is ~23 MiB, and the shared
# scripts' three model parts no longer fit. This keeps .dva/.dvb as they are, cuts the model into
# .dvm1 (rides with .dva), .dvm2 (with .dvb), .dvm4, .dvm5, ... (alone) and .dvm3 (the rest, the
# corpus and setup.sh, whose join line it rewrites), and prints the calls.
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
g=${MLX_IFP_CACHE:-$HOME/.cache/mlx_ifp}/embedded/SmolLM2-135M-Instruct.Q4_1.gguf
[ -d .dva ] && [ -d .dvb ] && [ -f .dvm3/setup.sh ] || { echo "run the two shared prepare scripts first" >&2; exit 2; }
[ -f "$g" ] || { echo "no $g: run mlx_ifp generate -p hi once first" >&2; exit 2; }
kib() { du -sb "$@" | awk '{s += $1} END {print int(s / 1024) + 1}'; }
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 stat -c %s | awk '{s += $1} END {print int(s / 1024) + 1}')
room=$((64 * 1024 - 1024 - tree))  # KiB per call beside the checkout, 1 MiB spare (256 KiB was refused)
extra=$(kib .dvm3/setup.sh .dvm3/sha256 $(ls .dvm3/corpus.tar.xz 2>/dev/null))
total=$(( $(stat -c %s "$g") / 1024 + 1 ))
a=$((room - $(kib .dva)))
if [ "$a" -lt 0 ] && ls .dva/*.whl > /dev/null 2>&1; then  # the wheels ride with .dvb instead
  mv .dva/*.whl .dvb/; a=$((room - $(kib .dva)))
fi
b=$((room - $(kib .dvb)))
[ "$a" -ge 0 ] && [ "$b" -ge 0 ] || { echo "the checkout ($((tree / 1024)) MiB) leaves no room beside .dva/.dvb" >&2; exit 2; }
for d in .dvm1 .dvm2; do rm -rf "$d"; mkdir "$d"; done
rm -rf .dvm[4-9] .dvm3/p3
dd if="$g" of=.dvm1/p1 bs=1K count="$a" status=none
dd if="$g" of=.dvm2/p2 bs=1K skip="$a" count="$b" status=none
off=$((a + b)); n=4; parts=("/tmp/stage/p1" "/tmp/stage/p2")
while [ $((total - off)) -gt $((room - extra)) ]; do  # middle parts, one call each
  d=.dvm$n; mkdir -p "$d"; grep -qx "/$d/" .git/info/exclude || echo "/$d/" >> .git/info/exclude
  dd if="$g" of="$d/p$n" bs=1K skip="$off" count="$room" status=none
  parts+=("/tmp/stage/p$n"); off=$((off + room)); n=$((n + 1))
done
dd if="$g" of=.dvm3/p3 bs=1K skip="$off" status=none
parts+=(".dvm3/p3")
chmod u+w .dvm3/setup.sh
sed -i "s#^\[ -f \"\$g\" \] || cat .*#[ -f \"\$g\" ] || cat ${parts[*]} > \"\$g\"#" .dvm3/setup.sh
cat .dvm1/p1 .dvm2/p2 $(for i in $(seq 4 $((n - 1))); do echo .dvm$i/p$i; done) .dvm3/p3 | sha256sum | cut -d' ' -f1 | cmp -s - .dvm3/sha256 \
  || { echo "the parts do not join to the GGUF" >&2; exit 1; }
echo "checkout $((tree / 1024)) MiB, $((room / 1024)) MiB per call; the calls, in order:"
echo "  carry [.dva, .dvm1]: mkdir -p /tmp/stage && cp .dva/* .dvm1/* /tmp/stage/"
echo "  carry [.dvb, .dvm2]: cp .dvb/* .dvm2/* /tmp/stage/"
for i in $(seq 4 $((n - 1))); do echo "  carry [.dvm$i]: cp .dvm$i/* /tmp/stage/"; done
echo "  carry [.dvm3]: . .dvm3/setup.sh && <your work>"
