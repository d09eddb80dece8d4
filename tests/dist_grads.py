"""Helper for test_finetune: run under `mlx.launch -n 2`; rank 0 writes both gradients."""

import sys

import mlx_ifp  # noqa: F401
from mlx_ifp.train.batches import Batches, load_data
from mlx_ifp.train.objective import gradients

import mlx.core as mx
from mlx.utils import tree_flatten
from test_finetune import Tok, setup

out, data = sys.argv[1], sys.argv[2]
group = mx.distributed.init()
stage, _, mode = sys.argv[3].partition("-")  # "sft-repick": half of each batch re-picks
joint, cfg, k = setup(data, train="lora", stage=stage)
if mode == "end":  # the KL x4 where ids 0..63 (half the vocabulary) hold over half: some rows
    from mlx_ifp.train.objective import Joint

    cfg.distill, cfg.end_weight = 1.0, 4.0
    joint = Joint(joint.predictor, joint.llm, None, range(64), cfg.end_weight)
if mode == "repick":
    from mlx_ifp.sources.predictor import PredictorConfig, new_predictor

    cfg.predictor = dict(head="griffin", route="reweight", shared=0.25)
    cfg.repick, cfg.repick_share, cfg.batch_size = 3, 0.5, 4
    joint.predictor = new_predictor(joint.llm, PredictorConfig(**cfg.predictor))
train, _, _ = load_data(data, Tok(), cfg.stage, cfg.max_seq_length)
multiple = cfg.max_seq_length // cfg.chunks if cfg.stage == "pretrain" else 8
split = Batches(train, 4, 0, multiple, group)
whole = Batches(train, 4, 0, multiple, None)
g_split, l_split, _ = gradients(joint, [split(0), split(1)], k, 0.5, cfg, group)
g_whole, l_whole, _ = gradients(joint, [whole(0), whole(1)], k, 0.5, cfg, None)
mx.eval(g_split, l_split, g_whole, l_whole)  # every rank takes part in the all_sum
if group.rank() == 0:
    arrays = {f"split.{n}": v for n, v in tree_flatten(g_split)}
    arrays.update({f"whole.{n}": v for n, v in tree_flatten(g_whole)})
    arrays.update(loss_split=l_split, loss_whole=l_whole, world=mx.array(group.size()))
    mx.save_safetensors(out, arrays)
