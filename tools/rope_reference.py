#!/usr/bin/env python3
"""Independent float64 reference for longctx's RoPE (tests/test_rope.c).

Written from the published formulas, not from the C code:
  RoPE            Su et al. 2021: pair i turns by pos * base^(-2i/d)
  linear (PI)     Chen et al. 2023, "Extending Context Window of Large Language
                  Models via Positional Interpolation": positions divided by s
  NTK-aware       bloc97 (2023): base' = base * s^(d/(d-2))
  dynamic NTK     Hugging Face transformers' DynamicNTKScalingRotaryEmbedding:
                  base' = base * (s*L/L_orig - (s-1))^(d/(d-2)) when L > L_orig
  YaRN            Peng et al. 2023, "YaRN: Efficient Context Window Extension":
                  pairs turning more than beta_fast times over the original
                  context keep their frequency, fewer than beta_slow times are
                  interpolated (theta/s), with a linear ramp over the pair index
                  between the (rounded) boundary pairs as in the paper's released
                  code; attention temperature sqrt(1/t) = 0.1 ln(s) + 1 scales
                  q and k; ext_factor mixes the ramp (llama.cpp's
                  --yarn-ext-factor) and attn_factor multiplies the magnitude.

Output: tests/data/rope/reference.txt, one block per case:
  case NAME LAYOUT N_DIMS HEAD_DIM BASE SCALING FACTOR ORIG_CTX EXT ATTN BETA_FAST BETA_SLOW CUR_LEN
  theta  n_dims/2 frequencies
  mscale m
  x      head_dim input values (float32, exact in decimal)
  rot POS head_dim rotated values   (one line per position)
  end

Command that produced the committed file (numpy 2.x):
  python3 tools/rope_reference.py > tests/data/rope/reference.txt
"""
import math
import sys

import numpy as np

POSITIONS = [0, 1, 37, 4095, 65536, 1048575]


def frequencies(n_dims, base, scaling, s, orig_ctx, ext, attn, beta_fast, beta_slow, cur_len):
    """Per-pair angular frequencies and the magnitude of cos/sin."""
    half = n_dims // 2
    i = np.arange(half, dtype=np.float64)
    mscale = attn
    if scaling == "none":
        return base ** (-2.0 * i / n_dims), mscale
    if scaling == "linear":
        # Position interpolation: angle (pos / s) * theta_i.
        return base ** (-2.0 * i / n_dims) / s, mscale
    if scaling == "ntk":
        b = base * s ** (n_dims / (n_dims - 2.0))
        return b ** (-2.0 * i / n_dims), mscale
    if scaling == "dynamic-ntk":
        b = base
        if cur_len > orig_ctx:
            b = base * ((s * cur_len / orig_ctx) - (s - 1.0)) ** (n_dims / (n_dims - 2.0))
        return b ** (-2.0 * i / n_dims), mscale
    if scaling == "yarn":
        ext = 1.0 if ext < 0 else ext
        theta = base ** (-2.0 * i / n_dims)
        # Pair index whose wavelength 2*pi/theta fits `turns` times into the
        # original context: orig_ctx * base^(-2j/d) / (2 pi) = turns.
        def boundary(turns):
            return n_dims * math.log(orig_ctx / (2.0 * math.pi * turns)) / (2.0 * math.log(base))

        first = max(math.floor(boundary(beta_fast)), 0.0)        # below: extrapolate
        last = min(math.ceil(boundary(beta_slow)), n_dims - 1.0)  # above: interpolate
        frac_interp = np.clip((i - first) / max(last - first, 0.001), 0.0, 1.0)
        keep = (1.0 - frac_interp) * ext                          # weight of the original theta
        new = (theta / s) * (1.0 - keep) + theta * keep
        if ext != 0.0:
            mscale = attn * (0.1 * math.log(s) + 1.0)
        return new, mscale
    raise ValueError(scaling)


def rotate(x, theta, mscale, pos, layout, n_dims):
    out = x.astype(np.float64).copy()
    half = n_dims // 2
    ang = np.float64(pos) * theta
    c, s = np.cos(ang) * mscale, np.sin(ang) * mscale
    if layout == 0:  # norm: adjacent pairs
        a, b = x[0:n_dims:2].astype(np.float64), x[1:n_dims:2].astype(np.float64)
        out[0:n_dims:2] = a * c - b * s
        out[1:n_dims:2] = a * s + b * c
    else:  # neox: split halves
        a, b = x[:half].astype(np.float64), x[half:n_dims].astype(np.float64)
        out[:half] = a * c - b * s
        out[half:n_dims] = a * s + b * c
    return out


# name, layout (0 norm, 1 neox), n_dims, head_dim, base, scaling, s, orig_ctx,
# ext_factor, attn_factor, beta_fast, beta_slow, cur_len
CASES = [
    ("none_norm_64", 0, 64, 64, 10000.0, "none", 1.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("none_neox_128_b500k", 1, 128, 128, 500000.0, "none", 1.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("none_norm_partial_32of80", 0, 32, 80, 10000.0, "none", 1.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("linear_norm_64_s4", 0, 64, 64, 10000.0, "linear", 4.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("linear_neox_128_s2_b500k", 1, 128, 128, 500000.0, "linear", 2.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("linear_norm_64_s2_attn1.25", 0, 64, 64, 10000.0, "linear", 2.0, 0, -1.0, 1.25, 32.0, 1.0, 0),
    ("ntk_norm_128_s8", 0, 128, 128, 10000.0, "ntk", 8.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("ntk_neox_partial_64of96_s4", 1, 64, 96, 10000.0, "ntk", 4.0, 0, -1.0, 1.0, 32.0, 1.0, 0),
    ("dyn_norm_64_s4_within", 0, 64, 64, 10000.0, "dynamic-ntk", 4.0, 2048, -1.0, 1.0, 32.0, 1.0, 1000),
    ("dyn_norm_64_s4_L8192", 0, 64, 64, 10000.0, "dynamic-ntk", 4.0, 2048, -1.0, 1.0, 32.0, 1.0, 8192),
    ("dyn_neox_128_s2_b500k_L20000", 1, 128, 128, 500000.0, "dynamic-ntk", 2.0, 4096, -1.0, 1.0, 32.0, 1.0, 20000),
    ("yarn_norm_64_s4_o4096", 0, 64, 64, 10000.0, "yarn", 4.0, 4096, -1.0, 1.0, 32.0, 1.0, 0),
    ("yarn_norm_128_s8_o4096_b500k", 0, 128, 128, 500000.0, "yarn", 8.0, 4096, -1.0, 1.0, 32.0, 1.0, 0),
    ("yarn_neox_128_s2_o512", 1, 128, 128, 10000.0, "yarn", 2.0, 512, -1.0, 1.0, 32.0, 1.0, 0),
    ("yarn_norm_128_s16_o2048_mix", 0, 128, 128, 10000.0, "yarn", 16.0, 2048, 0.5, 0.9, 16.0, 2.0, 0),
    ("yarn_neox_partial_64of128_s4_o2048", 1, 64, 128, 10000.0, "yarn", 4.0, 2048, -1.0, 1.0, 32.0, 1.0, 0),
    ("yarn_norm_64_s8_o2048_ext0", 0, 64, 64, 10000.0, "yarn", 8.0, 2048, 0.0, 1.0, 32.0, 1.0, 0),
]


def main():
    out = sys.stdout
    rng = np.random.default_rng(20240611)
    out.write("# generated by: python3 tools/rope_reference.py > tests/data/rope/reference.txt\n")
    for (name, layout, n_dims, head_dim, base, scaling, s, orig, ext, attn, bf, bs, cur) in CASES:
        theta, m = frequencies(n_dims, base, scaling, s, orig, ext, attn, bf, bs, cur)
        x = rng.standard_normal(head_dim).astype(np.float32)
        out.write(f"case {name} {layout} {n_dims} {head_dim} {base:.17g} {scaling} {s:.17g} {orig} "
                  f"{ext:.17g} {attn:.17g} {bf:.17g} {bs:.17g} {cur}\n")
        out.write("theta " + " ".join(f"{t:.17g}" for t in theta) + "\n")
        out.write(f"mscale {m:.17g}\n")
        out.write("x " + " ".join(f"{float(v):.9g}" for v in x) + "\n")
        for pos in POSITIONS:
            r = rotate(x, theta, m, pos, layout, n_dims)
            out.write(f"rot {pos} " + " ".join(f"{v:.10e}" for v in r) + "\n")
        out.write("end\n")


if __name__ == "__main__":
    main()
