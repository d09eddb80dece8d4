#!/usr/bin/env bash
# usage: chatbench.sh REPO [FLAGS...] -> the per-turn summary lines of a 4-message chat, -m 48,
# greedy (FLAGS: more chat flags, e.g. --mask-source griffin)
cd /tmp
printf 'What is the capital of France?\nTell me more about its history.\nWhat are its most famous museums?\nWhich one should I visit first, and why?\nq\n' | \
  PYTHONPATH=$1 OPENBLAS_NUM_THREADS=2 python -m mlx_ifp chat -m 48 "${@:2}" 2>&1 >/dev/null | grep -iE "prompt"
