# Set 7 (README.md here; the rule written before any reply): set 6's start.sh with S=7, one
# lane: the shipped rw25.c6 continued 360 steps (4,160 -> 4,520, set 6's flags exactly) on the
# chain facts -> writing sets -> set 4 -> 5 -> 6 (../train_chat6/answers) -> set 7 (rw25.c7).
# ARM=static.c7 continues ../train_chat6/staticc6 alike (a one-line refusal while it is missing).
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; POLL=500 bash docs/results/train_chat7/start.sh 900
# then `bash tools/device_lanes.sh poll 500` calls until the lane says TRAINDONE, then
#   bash tools/device_lanes.sh after docs/results/train_chat7/score.sh   # until "done"
S=7 exec bash docs/results/train_chat6/start.sh "$@"
