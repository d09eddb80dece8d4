# The whole test suite on the GPU machine in N shards (files round-robin), logs under $OUT.
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
N=${N:-6}; T=${T:-560}
files=${FILES:-$(ls tests/test_*.py | sort)}
i=0; for f in $files; do echo "$f" >> /tmp/shard.$((i % N)); i=$((i + 1)); done
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
python3 -c "import mlx.core as mx; print(mx.__version__, mx.default_device())" > $OUT/mlx.txt 2>&1
for s in $(seq 0 $((N - 1))); do
  [ -f /tmp/shard.$s ] || continue
  ( timeout $T python3 -m pytest -p no:cacheprovider -rfE --durations=15 $(cat /tmp/shard.$s) > $OUT/shard$s.log 2>&1; echo "rc $?" >> $OUT/shard$s.log ) &
done
wait
tail -n 3 $OUT/shard*.log
