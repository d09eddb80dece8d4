# test_layout (its s47 fix) and the forty-seventh and forty-eighth sessions' review tests on CUDA; logs to $OUT
set -u
sp=$(python3 -c "import site;print(site.getsitepackages()[0])"); echo /tmp/site > "$sp/zz_mlx_site.pth" 2>/dev/null || echo "no .pth ($sp)"
export MLX_ENABLE_TF32=0
T=${T:-470}
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt 2>&1
python3 -c "import mlx.core as mx, pytest, xdist; print(mx.__version__, mx.default_device(), pytest.__version__, xdist.__version__)" >> $OUT/gpu.txt 2>&1
( time python3 -m mlx_ifp generate -p "What is the capital of France?" -m 24 ) >> $OUT/gpu.txt 2>&1
start=$(date +%s)
for spec in "layout:3:tests/test_layout.py" "review47:8:$(ls tests/test_review_s47_*.py tests/test_review_s48_*.py | tr '\n' ' ')"; do
  IFS=: read name n files <<< "$spec"
  ( timeout $((T - ($(date +%s) - start))) python3 -m pytest -p no:cacheprovider -rfE -n $n --durations=10 ${PYARGS:-} $files > $OUT/$name.log 2>&1; echo "rc $?" >> $OUT/$name.log ) &
done
wait
tail -n 4 $OUT/*.log
