# After the static.c5 lane (the fifty-third session): rw25.c5's learned static control, the
# shipped static.c4 continued exactly as rw25.c5 was (start.sh with ARM=static.c5: the same 360
# steps 3,440 -> 3,800, corpus, rates, schedule and seed). Then the fair rows, both arms as float16
# packs at LoRA scale 17 (x0.85) as shipped: rw25.c5 is the shipped pack itself, static.c5 is
# packed here the same way. No rule: a control, reported as it comes. K033=1 afterwards runs the
# keep-0.33 control's segment c (../train_static_k033/slice.sh, 640 -> 1280 from the carried p640
# pack, git 56f8b50) and brings back its p1280 pack and trainer states. On the GPU machine:
#   . .dvm3/setup.sh > /tmp/setup.log 2>&1; ARM=static.c5 POLL=500 bash docs/results/train_chat5/start.sh 900
#   bash tools/device_lanes.sh poll 500           # until the lane says TRAINDONE
#   K033=1 bash tools/device_lanes.sh after docs/results/train_chat5/static.sh 540   # until "done"
# S=6 (set 6, ../train_chat6/: planned for the fifty-sixth session) scores rw25.c6's control
# static.c6 the same way (ARM=static.c6 ../train_chat6/start.sh first; staticc5 in .carry/):
#   S=6 bash tools/device_lanes.sh after docs/results/train_chat5/static.sh 540
set -u
export PYTHONPATH=/tmp/site:$PWD MLX_IFP_CACHE=/tmp/cache PYTHONUNBUFFERED=1 MLX_ENABLE_TF32=0
S=${S:-5}  # the set: 5 (as run in the fifty-third session), 6 or 7 (static.c7, once static.c6 exists)
o=/tmp/after/out r=/tmp/score_s$S; mkdir -p "$o"; rm -rf "$r"; mkdir -p "$r/f32" "$r/k0.5-rw25c$S" "$r/k0.5-static"
here() { if [ -f "$1/ifp_config.json" ]; then echo "$PWD/$1"; else echo "/tmp/carry/.carry/$(basename "$1")"; fi; }
shipped=$(here mlx_ifp/weights/smollm2-135m-instruct)
ln -sfn "$shipped" "$r/k0.5-rw25c$S/stage2"
cp /tmp/runs/k0.5-static.c$S/stage2.log "$o/static_c${S}_stage2.log" 2>/dev/null
cp /tmp/runs/k0.5-static.c$S/stage2/trainer_state.json "$o/static_c$S.trainer_state.json" || exit 1
cp -r /tmp/runs/k0.5-static.c$S/stage2 "$r/f32/stage2"
python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['lora_parameters']['scale']=17.0; json.dump(c,open(p,'w'),indent=2)" "$r/f32/stage2/adapter_config.json"
python3 tools/pack_run.py "$r/f32/stage2" -o /tmp/after/pk > /tmp/after/pack.log 2>&1 || exit 1
tar xf /tmp/after/pk/stage2.tar -C "$r/k0.5-static" || exit 1
(cd /tmp/after/pk && split -b 15m -d -a 1 stage2.tar k0.5-static.c$S-stage2.tar.part. \
  && sha256sum stage2.tar k0.5-static.c$S-stage2.tar.part.* > static_c${S}_pack.sha256 \
  && cp k0.5-static.c$S-stage2.tar.part.* static_c${S}_pack.sha256 "$o/")
run() { local name=$1; shift; python3 "$@" -o "$o/.$name.json" > "/tmp/after/$name.log" 2>&1 && mv "$o/.$name.json" "$o/$name.json"; }
F=math,code,science,prose,general P=math,code,general,prose
run probe5_fair_c$S tools/eval_ifp.py --data docs/results/probe5/corpus --runs "$r" --keep 0.5 \
  --arms rw25c$S --stage stage2 --limit 100 --gen-limit 0 --domains $P
run test_fair_c${S}_full tools/eval_ifp.py --runs "$r" --keep 0.5 --arms rw25c$S --stage stage2 \
  --limit 1000 --gen-limit 0 --batch 24 --domains $F
(cd /tmp/after && tar czf out/.logs_s$S.tgz ./*.log && mv out/.logs_s$S.tgz out/logs_s$S.tgz)
[ "${K033:-0}" = 1 ] || exit 0
# the keep-0.33 control's segment c, alone on the GPU now (slice.sh: from the carried p640)
s=docs/results/train_static_k033/slice.sh
rm -f /tmp/lane_static.log; touch /tmp/lane_static.log; mkdir -p /tmp/runs /tmp/packs
bash "$s" chain c > /tmp/static_k033.chain.log 2>&1
until grep -q TRAINDONE /tmp/lane_static.log; do sleep 10; done
[ -f /tmp/packs/p1280.tar ] && cp /tmp/packs/p1280.tar "$o/.p1280.tar" && mv "$o/.p1280.tar" "$o/p1280.tar"
tar czf "$o/.states_k033.tgz" $(ls /tmp/runs/k0.33-*/stage*/trainer_state.json /tmp/runs/k0.33-*/stage*.log \
  /tmp/runs/k0.33-*/stage*.yaml /tmp/static_k033*.log 2>/dev/null) && mv "$o/.states_k033.tgz" "$o/states_k033.tgz"
