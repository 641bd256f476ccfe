#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers' Gated DeltaNet (Qwen3-Next)
for tests/test_deltanet_hf.c: an independent check of longctx's kernels
(src/attn/deltanet*.c) against the library that defines the model.

Two files under tests/data/deltanet/ (little-endian; int32 header, then
float32 arrays in the order listed):

hf_gated_delta_rule.bin — the core, transformers'
  torch_chunk_gated_delta_rule (chunk_size 64) and
  torch_recurrent_gated_delta_rule, use_qk_l2norm_in_kernel=True, from a
  random non-zero initial state:
    header  int32 [T, H_k, H_v, d_k, d_v]
    q [T][H_k][d_k]  k [T][H_k][d_k]  v [T][H_v][d_v]  g [T][H_v]  beta [T][H_v]
    S0 [H_v][d_k][d_v]
    out_chunk [T][H_v][d_v]  S_chunk [H_v][d_k][d_v]
    out_rec   [T][H_v][d_v]  S_rec   [H_v][d_k][d_v]

hf_gdn_layer.bin — a whole Qwen3NextGatedDeltaNet layer (in_proj_qkvz and
  in_proj_ba in HF's per-key-head interleaved layout, depthwise causal conv1d
  with SiLU, gates, the core, RMSNormGated, out_proj), one forward without a
  cache over T tokens:
    header  int32 [T, hidden, H_k, H_v, d_k, d_v, K], float32 eps
    x [T][hidden]
    W_qkvz [2 H_k d_k + 2 H_v d_v][hidden]  W_ba [2 H_v][hidden]
    conv_w [2 H_k d_k + H_v d_v][K]  dt_bias [H_v]  A_log [H_v]  norm_w [d_v]
    W_out [hidden][H_v d_v]
    y [T][hidden]

Command that produced the committed files (CPU; torch 2.x, transformers 5.x
from PyPI in a venv):
  python3 tools/deltanet_reference.py tests/data/deltanet
"""
import os
import struct
import sys

import torch
from transformers.models.qwen3_next import modeling_qwen3_next as m
from transformers.models.qwen3_next.configuration_qwen3_next import Qwen3NextConfig


def put(f, t):
    f.write(t.detach().to(torch.float32).contiguous().numpy().tobytes())


def core(path):
    g = torch.Generator().manual_seed(1234)
    T, Hk, Hv, dk, dv = 150, 2, 4, 16, 8
    q = torch.randn(1, T, Hk, dk, generator=g)
    k = torch.randn(1, T, Hk, dk, generator=g)
    v = torch.randn(1, T, Hv, dv, generator=g)
    a = torch.randn(1, T, Hv, generator=g)
    gate = -torch.nn.functional.softplus(a) * 0.7  # log decay <= 0
    beta = torch.sigmoid(torch.randn(1, T, Hv, generator=g))
    s0 = 0.3 * torch.randn(1, Hv, dk, dv, generator=g)
    oc, sc = m.torch_chunk_gated_delta_rule(q, k, v, g=gate, beta=beta, chunk_size=64, initial_state=s0.clone(),
                                            output_final_state=True, use_qk_l2norm_in_kernel=True)
    orr, sr = m.torch_recurrent_gated_delta_rule(q, k, v, g=gate, beta=beta, initial_state=s0.clone(),
                                                 output_final_state=True, use_qk_l2norm_in_kernel=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<5i", T, Hk, Hv, dk, dv))
        for t in (q, k, v, gate, beta, s0, oc, sc, orr, sr):
            put(f, t)
    print(path, "chunk vs recurrent max diff", (oc - orr).abs().max().item())


def layer(path):
    torch.manual_seed(99)
    cfg = Qwen3NextConfig(hidden_size=32, linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16,
                          linear_value_head_dim=8, linear_conv_kernel_dim=4, num_hidden_layers=1,
                          layer_types=["linear_attention"], rms_norm_eps=1e-6)
    lay = m.Qwen3NextGatedDeltaNet(cfg, 0).eval()
    g = torch.Generator().manual_seed(4321)
    with torch.no_grad():
        for p in (lay.in_proj_qkvz.weight, lay.in_proj_ba.weight, lay.conv1d.weight, lay.out_proj.weight):
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
        lay.dt_bias.copy_(0.5 * torch.randn(lay.dt_bias.shape, generator=g))
        lay.A_log.copy_(torch.log(torch.rand(lay.A_log.shape, generator=g) * 4 + 0.1))
        lay.norm.weight.copy_(1 + 0.1 * torch.randn(lay.norm.weight.shape, generator=g))
        T = 70
        x = torch.randn(1, T, 32, generator=g)
        y = lay(x)
    with open(path, "wb") as f:
        f.write(struct.pack("<7if", T, 32, 2, 4, 16, 8, 4, cfg.rms_norm_eps))
        put(f, x)
        put(f, lay.in_proj_qkvz.weight)
        put(f, lay.in_proj_ba.weight)
        put(f, lay.conv1d.weight.squeeze(1))
        put(f, lay.dt_bias)
        put(f, lay.A_log)
        put(f, lay.norm.weight)
        put(f, lay.out_proj.weight)
        put(f, y)
    print(path, "y max", y.abs().max().item())


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/deltanet"
    os.makedirs(out, exist_ok=True)
    core(os.path.join(out, "hf_gated_delta_rule.bin"))
    layer(os.path.join(out, "hf_gdn_layer.bin"))
