# The facts corpus with the three writing sets appended one after the other, on the GPU machine
# (sourced by run.sh here and by ../train_writing_k033/run.sh): each set's corpus in the cache
# (writingN-facts-v1-seed0, the set appended to the corpus before it) and its eval corpus
# (/tmp/writing_eval, /tmp/writing_eval2, /tmp/writing_eval3); $prev is the last corpus.
d=/tmp/cache/data prev=/tmp/cache/data/facts-v1-seed0
for s in 1 2 3; do
  ans=docs/results/train_writing$s/answers; [ $s = 1 ] && ans=docs/results/train_writing/answers
  ev=/tmp/writing_eval; [ $s = 1 ] || ev=/tmp/writing_eval$s
  rm -rf "$ev" "$d/writing$s-facts-v1-seed0"
  python3 tools/make_writing.py corpus --answers "$ans" --data "$prev" \
    --corpus "$d/writing$s-facts-v1-seed0" --eval "$ev" 2>&1 | tail -n 1
  prev=$d/writing$s-facts-v1-seed0
done
