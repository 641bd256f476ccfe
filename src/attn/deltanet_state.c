/*
 * The decode state of one Gated DeltaNet layer: the recurrent matrix state
 * S [H_v][d_k][d_v] and the causal convolution's last K-1 inputs [K-1][C],
 * with save/load to a flat buffer (for sessions, like the KV cache).
 *
 * Saved layout (little-endian, as in memory on the supported CPUs):
 *   u32 magic "LCDN", u32 version 1, i32 H_k, H_v, d_k, d_v, K, u32 reserved,
 *   then S and the convolution state in f32.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "attn/deltanet_internal.h"

#define DN_STATE_MAGIC 0x4e44434cu /* "LCDN" */
#define DN_STATE_VERSION 1u
#define DN_HEADER_BYTES 32
#define DN_MAX_KERNEL LC_DN_MAX_KERNEL

lc_status lc_deltanet_state_create(const lc_deltanet_shape *s, int32_t conv_kernel, lc_deltanet_state **out,
                                   lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet state: NULL out");
    *out = NULL;
    size_t ssm_n;
    lc_status st = lc_deltanet_state_floats(s, &ssm_n, err);
    if (st != LC_OK) return st;
    if (conv_kernel < 1 || conv_kernel > DN_MAX_KERNEL)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet state: conv kernel %d outside 1..%d", conv_kernel,
                       DN_MAX_KERNEL);
    const int64_t ch = 2 * (int64_t)s->n_k_heads * s->d_k + (int64_t)s->n_v_heads * s->d_v;
    size_t conv_n;
    if (ch > INT32_MAX || !lc_mul_size((size_t)(conv_kernel - 1), (size_t)ch, &conv_n))
        return lc_fail(err, LC_ERR_TOO_LARGE, "deltanet state: %lld convolution channels", (long long)ch);
    lc_deltanet_state *d = calloc(1, sizeof *d);
    if (!d) return lc_fail(err, LC_ERR_NOMEM, "deltanet state: out of memory");
    d->shape = *s;
    d->kernel = conv_kernel;
    d->channels = (int32_t)ch;
    d->ssm_n = ssm_n;
    d->conv_n = conv_n;
    d->ssm = calloc(ssm_n ? ssm_n : 1, sizeof(float));
    d->conv = calloc(conv_n ? conv_n : 1, sizeof(float));
    if (!d->ssm || !d->conv) {
        char b[32];
        lc_deltanet_state_free(d);
        return lc_fail(err, LC_ERR_NOMEM, "deltanet state: cannot allocate %s",
                       lc_format_bytes((double)(ssm_n + conv_n) * 4.0, b, sizeof b));
    }
    *out = d;
    return LC_OK;
}

void lc_deltanet_state_free(lc_deltanet_state *st) {
    if (!st) return;
    free(st->ssm);
    free(st->conv);
    free(st);
}

void lc_deltanet_state_reset(lc_deltanet_state *st) {
    memset(st->ssm, 0, st->ssm_n * sizeof(float));
    memset(st->conv, 0, st->conv_n * sizeof(float));
}

float *lc_deltanet_state_ssm(lc_deltanet_state *st) { return st->ssm; }
float *lc_deltanet_state_conv(lc_deltanet_state *st) { return st->conv; }

size_t lc_deltanet_state_bytes(const lc_deltanet_state *st) {
    return DN_HEADER_BYTES + (st->ssm_n + st->conv_n) * sizeof(float);
}

static void header(const lc_deltanet_state *st, uint32_t h[8]) {
    h[0] = DN_STATE_MAGIC;
    h[1] = DN_STATE_VERSION;
    h[2] = (uint32_t)st->shape.n_k_heads;
    h[3] = (uint32_t)st->shape.n_v_heads;
    h[4] = (uint32_t)st->shape.d_k;
    h[5] = (uint32_t)st->shape.d_v;
    h[6] = (uint32_t)st->kernel;
    h[7] = 0;
}

lc_status lc_deltanet_state_save(const lc_deltanet_state *st, void *dst, size_t cap, lc_error *err) {
    if (!st || !dst) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet state save: NULL argument");
    const size_t need = lc_deltanet_state_bytes(st);
    if (cap < need)
        return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet state save: %zu bytes of room, %zu needed", cap, need);
    uint32_t h[8];
    header(st, h);
    char *p = (char *)dst;
    memcpy(p, h, sizeof h);
    memcpy(p + DN_HEADER_BYTES, st->ssm, st->ssm_n * sizeof(float));
    memcpy(p + DN_HEADER_BYTES + st->ssm_n * sizeof(float), st->conv, st->conv_n * sizeof(float));
    return LC_OK;
}

lc_status lc_deltanet_state_check(const lc_deltanet_state *st, const void *src, size_t bytes, lc_error *err) {
    if (!st || !src) return lc_fail(err, LC_ERR_INVALID_ARG, "deltanet state load: NULL argument");
    const size_t need = lc_deltanet_state_bytes(st);
    uint32_t want[8], got[8];
    header(st, want);
    if (bytes < DN_HEADER_BYTES) return lc_fail(err, LC_ERR_FORMAT, "deltanet state load: %zu bytes, no header", bytes);
    memcpy(got, src, sizeof got);
    if (got[0] != DN_STATE_MAGIC || got[1] != DN_STATE_VERSION || got[7] != 0)
        return lc_fail(err, LC_ERR_FORMAT, "deltanet state load: not a version-1 DeltaNet state");
    if (memcmp(got + 2, want + 2, 5 * sizeof(uint32_t)) != 0)
        return lc_fail(err, LC_ERR_FORMAT,
                       "deltanet state load: saved shape H_k=%u H_v=%u d_k=%u d_v=%u K=%u, this layer has %u %u %u %u %u",
                       got[2], got[3], got[4], got[5], got[6], want[2], want[3], want[4], want[5], want[6]);
    if (bytes != need)
        return lc_fail(err, LC_ERR_FORMAT, "deltanet state load: %zu bytes, %zu expected", bytes, need);
    const size_t total = st->ssm_n + st->conv_n;
    for (size_t i = 0; i < total; i++) {
        float v;
        memcpy(&v, (const char *)src + DN_HEADER_BYTES + i * sizeof(float), sizeof v);
        if (!isfinite(v)) return lc_fail(err, LC_ERR_FORMAT, "deltanet state load: value %zu is not finite", i);
    }
    return LC_OK;
}

lc_status lc_deltanet_state_load(lc_deltanet_state *st, const void *src, size_t bytes, lc_error *err) {
    /* Check before touching the state: a refused load leaves it as it was. */
    const lc_status s = lc_deltanet_state_check(st, src, bytes, err);
    if (s != LC_OK) return s;
    memcpy(st->ssm, (const char *)src + DN_HEADER_BYTES, st->ssm_n * sizeof(float));
    memcpy(st->conv, (const char *)src + DN_HEADER_BYTES + st->ssm_n * sizeof(float), st->conv_n * sizeof(float));
    return LC_OK;
}
