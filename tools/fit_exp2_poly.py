#!/usr/bin/env python3
"""Fit the polynomial p(f) ~ 2^f on [-0.5, 0.5] used by the vectorised exp2 of
the FLASH kernels (src/attn/flash_avx2.c, flash_exp2_ps).

Minimises the maximum *relative* error with a few Remez-like reweighting
rounds of a weighted least-squares fit on Chebyshev nodes (numpy only), then
reports the error of the coefficients once rounded to float32 and evaluated
in float32 with Horner's rule, as the kernel does.

Produced the constants in flash_avx2.c with:
    python3 tools/fit_exp2_poly.py 6
"""
import sys

import numpy as np


def fit(deg, rounds=40):
    n = 4000
    x = 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    y = np.exp2(x)
    w = 1.0 / y
    for _ in range(rounds):
        a = np.vander(x, deg + 1, increasing=True) * w[:, None]
        c, *_ = np.linalg.lstsq(a, y * w, rcond=None)
        err = np.abs(np.polyval(c[::-1], x) / y - 1.0)
        w = w * (1.0 + 20.0 * err / err.max())  # push weight to where the error peaks
    return c


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    c = fit(deg)
    c32 = c.astype(np.float32)
    x = np.linspace(-0.5, 0.5, 200001).astype(np.float32)
    acc = np.full_like(x, c32[-1])
    for k in range(deg - 1, -1, -1):
        acc = (acc * x + c32[k]).astype(np.float32)
    rel64 = np.abs(np.polyval(c[::-1], x.astype(np.float64)) / np.exp2(x.astype(np.float64)) - 1).max()
    rel32 = np.abs(acc.astype(np.float64) / np.exp2(x.astype(np.float64)) - 1).max()
    for k, v in enumerate(c32):
        print(f"#define EXP2_C{k} {float(v)!r:>24}f")
    print(f"# max relative error: exact arithmetic {rel64:.3g}, float32 Horner {rel32:.3g}")


if __name__ == "__main__":
    main()
