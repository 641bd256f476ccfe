#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers for learned attention sinks
(gpt-oss) and the two MoE blocks (gpt-oss, Qwen3-Next), for
tests/test_hf_sinks_moe.c: an independent check of src/attn (sink_logits) and
src/moe against the library that defines the models.

Files (little-endian; int32 header, then float32 arrays in the order listed):

tests/data/sinks/hf_gpt_oss_sinks.bin — transformers' gpt-oss
  eager_attention_forward (sinks concatenated to the logits, softmax, sink
  column dropped), causal; once without a window and once with a sliding
  window W given as an additive mask (key j visible to query i iff
  0 <= i - j < W, transformers' sliding-window rule):
    header int32 [T, H, H_kv, d, W]
    q [T][H][d]  k [T][H_kv][d]  v [T][H_kv][d]  sinks [H]
    out_full [T][H][d]  out_window [T][H][d]

tests/data/moe/hf_gpt_oss_mlp.bin — GptOssMLP (router with bias, top-k then
  softmax, experts with HF's interleaved gate_up_proj and the clamped SwiGLU,
  alpha 1.702, limit 7):
    header int32 [T, dim, ffn, E, k]
    x [T][dim]  router_w [E][dim]  router_b [E]
    gate_up [E][dim][2 ffn]  gate_up_b [E][2 ffn]  down [E][ffn][dim]  down_b [E][dim]
    y [T][dim]

tests/data/moe/hf_qwen3next_moe.bin — Qwen3NextSparseMoeBlock (softmax, top-k,
  norm_topk_prob, experts, sigmoid-gated shared expert):
    header int32 [T, dim, ffn, E, k, shared_ffn]
    x [T][dim]  router_w [E][dim]  gate_up [E][2 ffn][dim]  down [E][dim][ffn]
    sh_gate [shared_ffn][dim]  sh_up [shared_ffn][dim]  sh_down [dim][shared_ffn]  sh_gate_inp [1][dim]
    y [T][dim]

Command that produced the committed files (CPU; torch 2.x, transformers 5.x
from PyPI in a venv):
  python3 tools/moe_sinks_reference.py tests/data
"""
import os
import struct
import sys
import types

import torch
from transformers.models.gpt_oss import modeling_gpt_oss as go
from transformers.models.gpt_oss.configuration_gpt_oss import GptOssConfig
from transformers.models.qwen3_next import modeling_qwen3_next as qn
from transformers.models.qwen3_next.configuration_qwen3_next import Qwen3NextConfig


def put(f, t):
    f.write(t.detach().to(torch.float32).contiguous().numpy().tobytes())


def sinks(path):
    g = torch.Generator().manual_seed(11)
    T, H, Hkv, d, W = 33, 8, 2, 32, 8
    q = torch.randn(1, H, T, d, generator=g)
    k = torch.randn(1, Hkv, T, d, generator=g)
    v = torch.randn(1, Hkv, T, d, generator=g)
    s = 1.5 * torch.randn(H, generator=g)
    s[3] = 6.0  # one head that mostly attends to nothing
    mod = types.SimpleNamespace(num_key_value_groups=H // Hkv, sinks=s, training=False)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    outs = []
    for win in (None, W):
        vis = j <= i
        if win is not None:
            vis = vis & (i - j < win)
        mask = torch.zeros(T, T).masked_fill(~vis, float("-inf"))[None, None]
        o, _ = go.eager_attention_forward(mod, q, k, v, mask, scaling=d ** -0.5)
        outs.append(o)  # [1, T, H, d]
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", T, H, Hkv, d, W))
        put(f, q.transpose(1, 2))
        put(f, k.transpose(1, 2))
        put(f, v.transpose(1, 2))
        put(f, s)
        for o in outs:
            put(f, o)
    print(path)


def gpt_oss_mlp(path):
    g = torch.Generator().manual_seed(22)
    T, dim, ffn, E, k = 20, 32, 24, 4, 2
    cfg = GptOssConfig(hidden_size=dim, intermediate_size=ffn, num_local_experts=E, num_experts_per_tok=k,
                       num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2, head_dim=8)
    mlp = go.GptOssMLP(cfg).eval()
    with torch.no_grad():
        for p, amp in ((mlp.router.weight, 0.3), (mlp.router.bias, 0.3), (mlp.experts.gate_up_proj, 0.6),
                       (mlp.experts.gate_up_proj_bias, 0.5), (mlp.experts.down_proj, 0.2),
                       (mlp.experts.down_proj_bias, 0.3)):
            p.copy_(amp * torch.randn(p.shape, generator=g))
        x = torch.randn(1, T, dim, generator=g)
        y, _ = mlp(x)
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", T, dim, ffn, E, k))
        for t in (x, mlp.router.weight, mlp.router.bias, mlp.experts.gate_up_proj, mlp.experts.gate_up_proj_bias,
                  mlp.experts.down_proj, mlp.experts.down_proj_bias, y):
            put(f, t)
    print(path, "|y| max", y.abs().max().item())


def qwen3next_moe(path):
    g = torch.Generator().manual_seed(33)
    T, dim, ffn, E, k, sf = 20, 32, 16, 6, 2, 24
    cfg = Qwen3NextConfig(hidden_size=dim, moe_intermediate_size=ffn, shared_expert_intermediate_size=sf,
                          num_experts=E, num_experts_per_tok=k, norm_topk_prob=True, num_hidden_layers=1,
                          layer_types=["full_attention"])
    blk = qn.Qwen3NextSparseMoeBlock(cfg).eval()
    with torch.no_grad():
        for p, amp in ((blk.gate.weight, 0.3), (blk.experts.gate_up_proj, 0.3), (blk.experts.down_proj, 0.2),
                       (blk.shared_expert.gate_proj.weight, 0.3), (blk.shared_expert.up_proj.weight, 0.3),
                       (blk.shared_expert.down_proj.weight, 0.2), (blk.shared_expert_gate.weight, 0.3)):
            p.copy_(amp * torch.randn(p.shape, generator=g))
        x = torch.randn(1, T, dim, generator=g)
        y = blk(x)
    with open(path, "wb") as f:
        f.write(struct.pack("<6i", T, dim, ffn, E, k, sf))
        for t in (x, blk.gate.weight, blk.experts.gate_up_proj, blk.experts.down_proj,
                  blk.shared_expert.gate_proj.weight, blk.shared_expert.up_proj.weight,
                  blk.shared_expert.down_proj.weight, blk.shared_expert_gate.weight, y):
            put(f, t)
    print(path, "|y| max", y.abs().max().item())


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    os.makedirs(os.path.join(out, "sinks"), exist_ok=True)
    os.makedirs(os.path.join(out, "moe"), exist_ok=True)
    sinks(os.path.join(out, "sinks", "hf_gpt_oss_sinks.bin"))
    gpt_oss_mlp(os.path.join(out, "moe", "hf_gpt_oss_mlp.bin"))
    qwen3next_moe(os.path.join(out, "moe", "hf_qwen3next_moe.bin"))
