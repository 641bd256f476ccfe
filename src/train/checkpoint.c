/*
 * Checkpoints: PATH is a GGUF of the F32 weights (lc_model_write_gguf), and
 * PATH.optim the optimizer sidecar laid out in include/longctx/train.h.
 * Both are written to a temporary file and renamed into place, so a crash
 * mid-save leaves the previous checkpoint intact.
 *
 * Sidecar header (little-endian), after the 56 fixed bytes documented in
 * train.h: u64 batch, ctx, steps, warmup, seed, linear_chunk; u32
 * attn_backward; f32 lr, min_lr, weight_decay, beta1, beta2, adam_eps,
 * grad_clip, init_std  => 144 bytes in all.
 *
 * Resuming reads the weights straight from the GGUF's tensors by name (F32,
 * exact shapes) and checks them against the checksum the sidecar recorded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "longctx/gguf.h"
#include "train/trainer_internal.h"

#define SIDECAR_MAGIC "LCOPTIM"
#define SIDECAR_VERSION 1u
#define SIDECAR_HEADER 144u
#define SIDECAR_MAX_DATA_STATE ((size_t)1 << 20)

/* ---- Little-endian encoding ----------------------------------------------- */
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_f32(unsigned char *p, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static float get_f32(const unsigned char *p) {
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* Checksum of the weights as stored (tensors in table order, no padding). */
static uint64_t weights_checksum(const lc_trainer *t) {
    uint64_t h = LC_TR_CHECKSUM_SEED;
    for (int32_t i = 0; i < t->n_tensors; i++)
        h = lc_tr_checksum(h, t->params + t->tensors[i].offset, t->tensors[i].numel * sizeof(float));
    return h;
}

static size_t n_param_floats(const lc_trainer *t) {
    size_t n = 0;
    for (int32_t i = 0; i < t->n_tensors; i++) n += t->tensors[i].numel;
    return n;
}

static char *sidecar_path(const char *path, const char *suffix) {
    const size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = (char *)malloc(n);
    if (p) snprintf(p, n, "%s%s", path, suffix);
    return p;
}

static void encode_header(const lc_trainer *t, unsigned char *h, uint64_t wsum, uint64_t state_len) {
    const lc_train_config *c = &t->cfg;
    memset(h, 0, SIDECAR_HEADER);
    memcpy(h, SIDECAR_MAGIC, 8); /* includes the NUL */
    put_u32(h + 8, SIDECAR_VERSION);
    put_u32(h + 12, SIDECAR_HEADER);
    put_u64(h + 16, (uint64_t)t->step);
    put_u64(h + 24, (uint64_t)n_param_floats(t));
    put_u64(h + 32, lc_tr_shape_fingerprint(&t->mcfg));
    put_u64(h + 40, wsum);
    put_u64(h + 48, state_len);
    put_u64(h + 56, (uint64_t)c->batch);
    put_u64(h + 64, (uint64_t)c->ctx);
    put_u64(h + 72, (uint64_t)c->steps);
    put_u64(h + 80, (uint64_t)c->warmup);
    put_u64(h + 88, c->seed);
    put_u64(h + 96, (uint64_t)c->linear_chunk);
    put_u32(h + 104, (uint32_t)c->attn_backward);
    const float f[8] = {c->lr, c->min_lr, c->weight_decay, c->beta1, c->beta2, c->adam_eps, c->grad_clip, c->init_std};
    for (int i = 0; i < 8; i++) put_f32(h + 108 + 4 * i, f[i]);
}

/* Write the moments of every tensor (no padding) through the checksum. */
static bool write_moments(FILE *f, const lc_trainer *t, const float *slab, uint64_t *h) {
    for (int32_t i = 0; i < t->n_tensors; i++) {
        const float *p = slab + t->tensors[i].offset;
        const size_t n = t->tensors[i].numel;
        *h = lc_tr_checksum(*h, p, n * sizeof(float));
        if (fwrite(p, sizeof(float), n, f) != n) return false;
    }
    return true;
}

static lc_status write_sidecar(const lc_trainer *t, const char *path, const lc_train_data *data, lc_error *err) {
    lc_status st = LC_OK;
    char *final = sidecar_path(path, ".optim"), *tmp = sidecar_path(path, ".optim.tmp");
    void *state = NULL;
    size_t state_len = data ? data->state_size(data) : 0;
    if (!final || !tmp) {
        st = lc_fail(err, LC_ERR_NOMEM, "checkpoint: out of memory");
        goto done;
    }
    if (state_len > SIDECAR_MAX_DATA_STATE) {
        st = lc_fail(err, LC_ERR_TOO_LARGE, "checkpoint: data state of %zu bytes is too large", state_len);
        goto done;
    }
    state = malloc(state_len ? state_len : 1);
    if (!state) {
        st = lc_fail(err, LC_ERR_NOMEM, "checkpoint: out of memory");
        goto done;
    }
    if (data && (st = data->get_state(data, state, state_len, err)) != LC_OK) goto done;
    unsigned char hdr[SIDECAR_HEADER];
    encode_header(t, hdr, weights_checksum(t), state_len);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = lc_fail(err, LC_ERR_IO, "checkpoint: cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    uint64_t h = lc_tr_checksum(LC_TR_CHECKSUM_SEED, hdr, sizeof hdr);
    h = lc_tr_checksum(h, state, state_len);
    bool ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr && fwrite(state, 1, state_len, f) == state_len &&
              write_moments(f, t, t->m, &h) && write_moments(f, t, t->v, &h);
    unsigned char tail[8];
    put_u64(tail, h);
    ok = ok && fwrite(tail, 1, 8, f) == 8;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, final) != 0) {
        st = lc_fail(err, LC_ERR_IO, "checkpoint: writing %s failed: %s", final, strerror(errno));
        remove(tmp);
    }
done:
    free(final);
    free(tmp);
    free(state);
    return st;
}

lc_status lc_trainer_save(lc_trainer *t, const char *path, const lc_tokenizer *tok, const lc_train_data *data,
                          lc_error *err) {
    if (!t || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "checkpoint: NULL argument");
    lc_status st = lc_model_write_gguf(path, &t->mcfg, &t->weights, tok, LC_DTYPE_F32, err);
    if (st != LC_OK) return st;
    return write_sidecar(t, path, data, err);
}

/* ---- Reading -------------------------------------------------------------- */

typedef struct {
    unsigned char *bytes; /* the whole file, checksum verified */
    size_t size;
    uint64_t step, n_params, fingerprint, weights_sum, state_len;
} sidecar;

/* Read and verify PATH.optim. expect_n: the parameter count the caller can
 * take (0: any, for reading the config only; then the size is bounded by
 * the file itself, which must be consistent with its own header). */
static lc_status read_sidecar(const char *path, sidecar *sc, lc_error *err) {
    memset(sc, 0, sizeof *sc);
    char *p = sidecar_path(path, ".optim");
    if (!p) return lc_fail(err, LC_ERR_NOMEM, "checkpoint: out of memory");
    lc_status st = LC_OK;
    FILE *f = fopen(p, "rb");
    if (!f) {
        st = lc_fail(err, LC_ERR_IO, "checkpoint: cannot open %s: %s (resuming needs the optimizer sidecar next to "
                     "the model)", p, strerror(errno));
        free(p);
        return st;
    }
    struct stat sb;
    unsigned char hdr[SIDECAR_HEADER];
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < (off_t)(SIDECAR_HEADER + 8) ||
        fread(hdr, 1, SIDECAR_HEADER, f) != SIDECAR_HEADER) {
        st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s is truncated (%lld bytes)", p, (long long)sb.st_size);
        goto done;
    }
    if (memcmp(hdr, SIDECAR_MAGIC, 8) != 0) {
        st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s is not a longctx optimizer sidecar (bad magic)", p);
        goto done;
    }
    if (get_u32(hdr + 8) != SIDECAR_VERSION || get_u32(hdr + 12) != SIDECAR_HEADER) {
        st = lc_fail(err, LC_ERR_UNSUPPORTED, "checkpoint: %s has sidecar version %u (header %u bytes); this build "
                     "reads version %u", p, get_u32(hdr + 8), get_u32(hdr + 12), SIDECAR_VERSION);
        goto done;
    }
    sc->step = get_u64(hdr + 16);
    sc->n_params = get_u64(hdr + 24);
    sc->fingerprint = get_u64(hdr + 32);
    sc->weights_sum = get_u64(hdr + 40);
    sc->state_len = get_u64(hdr + 48);
    /* expected size = header + state + 2 * 4n + 8, checked, and equal to the file */
    size_t moments, expect;
    if (sc->state_len > SIDECAR_MAX_DATA_STATE || sc->n_params > ((uint64_t)1 << 40) ||
        !lc_mul_size((size_t)sc->n_params, 2 * sizeof(float), &moments) ||
        !lc_add_size(SIDECAR_HEADER + 8 + (size_t)sc->state_len, moments, &expect) || (uint64_t)sb.st_size != expect) {
        st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s has %lld bytes, its header promises %llu parameters and a "
                     "%llu-byte data state (truncated or corrupted)", p, (long long)sb.st_size,
                     (unsigned long long)sc->n_params, (unsigned long long)sc->state_len);
        goto done;
    }
    sc->size = expect;
    sc->bytes = (unsigned char *)malloc(expect);
    if (!sc->bytes) {
        st = lc_fail(err, LC_ERR_NOMEM, "checkpoint: cannot read %zu bytes of %s", expect, p);
        goto done;
    }
    memcpy(sc->bytes, hdr, SIDECAR_HEADER);
    if (fread(sc->bytes + SIDECAR_HEADER, 1, expect - SIDECAR_HEADER, f) != expect - SIDECAR_HEADER) {
        st = lc_fail(err, LC_ERR_IO, "checkpoint: reading %s failed", p);
        goto done;
    }
    const uint64_t want = get_u64(sc->bytes + expect - 8);
    if (lc_tr_checksum(LC_TR_CHECKSUM_SEED, sc->bytes, expect - 8) != want)
        st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s is corrupted (checksum mismatch)", p);
done:
    if (st != LC_OK) {
        free(sc->bytes);
        sc->bytes = NULL;
    }
    fclose(f);
    free(p);
    return st;
}

lc_status lc_train_sidecar_read_config(const char *path, lc_train_config *c, int64_t *step, lc_error *err) {
    if (!path || !c) return lc_fail(err, LC_ERR_INVALID_ARG, "checkpoint: NULL argument");
    sidecar sc;
    lc_status st = read_sidecar(path, &sc, err);
    if (st != LC_OK) return st;
    const unsigned char *h = sc.bytes;
    c->batch = (int64_t)get_u64(h + 56);
    c->ctx = (int64_t)get_u64(h + 64);
    c->steps = (int64_t)get_u64(h + 72);
    c->warmup = (int64_t)get_u64(h + 80);
    c->seed = get_u64(h + 88);
    c->linear_chunk = (int64_t)get_u64(h + 96);
    c->attn_backward = get_u32(h + 104) ? LC_TRAIN_BACKWARD_NAIVE : LC_TRAIN_BACKWARD_FLASH;
    c->lr = get_f32(h + 108);
    c->min_lr = get_f32(h + 112);
    c->weight_decay = get_f32(h + 116);
    c->beta1 = get_f32(h + 120);
    c->beta2 = get_f32(h + 124);
    c->adam_eps = get_f32(h + 128);
    c->grad_clip = get_f32(h + 132);
    c->init_std = get_f32(h + 136);
    if (step) *step = (int64_t)sc.step;
    free(sc.bytes);
    return LC_OK;
}

/* Copy the GGUF's F32 tensors into the parameter slab. */
static lc_status load_gguf_weights(lc_trainer *t, const char *path, lc_error *err) {
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open(path, &g, err);
    if (st != LC_OK) return st;
    for (int32_t i = 0; i < t->n_tensors && st == LC_OK; i++) {
        const lc_train_tensor *e = &t->tensors[i];
        const lc_gguf_tensor *gt = lc_gguf_find_tensor(g, e->name);
        if (!gt) {
            st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s has no tensor %s", path, e->name);
            break;
        }
        const int64_t rows = gt->n_dims >= 2 ? gt->ne[1] : 1;
        if (gt->dtype != LC_DTYPE_F32 || gt->ne[0] != e->cols || rows != e->rows ||
            gt->nbytes != e->numel * sizeof(float) || !gt->data) {
            st = lc_fail(err, LC_ERR_FORMAT, "checkpoint: %s: tensor %s is not F32 %lld x %lld (a training checkpoint "
                         "is written in F32; use --init to start from a converted model)", path, e->name,
                         (long long)e->rows, (long long)e->cols);
            break;
        }
        memcpy(t->params + e->offset, gt->data, gt->nbytes);
    }
    lc_gguf_close(g);
    return st;
}

lc_status lc_trainer_resume(lc_trainer *t, const char *path, lc_train_data *data, lc_error *err) {
    if (!t || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "checkpoint: NULL argument");
    sidecar sc;
    lc_status st = read_sidecar(path, &sc, err);
    if (st != LC_OK) return st;
    const size_t n = n_param_floats(t);
    if (sc.fingerprint != lc_tr_shape_fingerprint(&t->mcfg) || sc.n_params != n) {
        st = lc_fail(err, LC_ERR_INVALID_ARG, "checkpoint: %s.optim belongs to a model of another shape (%llu "
                     "parameters; this one has %zu)", path, (unsigned long long)sc.n_params, n);
        goto done;
    }
    /* Load weights into a scratch copy first? The gradient slab is free between steps. */
    float *saved = t->grads;
    memcpy(saved, t->params, t->n_floats * sizeof(float));
    st = load_gguf_weights(t, path, err);
    if (st == LC_OK && weights_checksum(t) != sc.weights_sum)
        st = lc_fail(err, LC_ERR_INVALID_ARG, "checkpoint: the weights in %s are not the ones %s.optim was saved with "
                     "(mismatched or modified checkpoint)", path, path);
    if (st == LC_OK && data)
        st = data->set_state(data, sc.bytes + SIDECAR_HEADER, (size_t)sc.state_len, err);
    if (st != LC_OK) { /* leave the trainer as it was */
        memcpy(t->params, saved, t->n_floats * sizeof(float));
        goto done;
    }
    const unsigned char *p = sc.bytes + SIDECAR_HEADER + sc.state_len;
    for (int k = 0; k < 2; k++) {
        float *slab = k ? t->v : t->m;
        for (int32_t i = 0; i < t->n_tensors; i++) {
            memcpy(slab + t->tensors[i].offset, p, t->tensors[i].numel * sizeof(float));
            p += t->tensors[i].numel * sizeof(float);
        }
    }
    t->step = (int64_t)sc.step;
done:
    free(sc.bytes);
    return st;
}
