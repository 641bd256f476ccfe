/*
 * Sessions: a context's KV cache, logits, the caller's token history and
 * blob, and a sampler's state, saved to a file and loaded back (the format is
 * in runtime.h and docs/kv-cache.md).
 *
 * Header (SESSION_HEADER_BYTES, little-endian):
 *
 *     0  "LCSESSN1"                      8  u32 version   12  u32 flags
 *    16  u64 model fingerprint          24  u64 context fingerprint
 *    32  i64 n_tokens   40  i64 blob bytes   48  i64 n_slots   56  i64 n_saved
 *    64  i64 n_used     72  i64 next_pos     80  i64 n_seen    88  i64 ring_n
 *    96  i64 base      104  i64 hw          112  i64 discarded 120  i64 shifts
 *   128  u32 in_order  132  u32 vocab       136  u32 policy    140  u32 k type
 *   144  u32 v type    148  u32 layers      152  i64 S  160  i64 W  168  i64 KEEP
 *   176  i64 H         184  u32 n_states   188  u32 n_rings
 *
 * Body: tokens i32[n_tokens] | blob | pos i64[n_slots] | tok i32[n_slots] |
 * mass f64[n_slots] (H2O) | per layer K rows of slots 0..n_saved-1 | per
 * layer V rows | recurrent states: per Gated DeltaNet layer, in layer order,
 * its lc_deltanet_state_save image (32-byte header with the shape, then S
 * and the convolution tail in f32) | window layers' rings (n_rings > 0): i64
 * window, i64 slots C, i64 hi, pos i64[C], K rows [n_rings][C], V rows
 * [n_rings][C] | logits f32[vocab] (flag 1) | sampler state (flag 2).
 * Trailer: u64 FNV-1a 64 of every byte before it.
 *
 * Version 3 added the rings (n_rings, 0 before); version 2 added n_states
 * and the states; versions 1 (u64 0 at 184, no states) and 2 are still read,
 * into contexts without DeltaNet layers (1) and without rings (1, 2).
 *
 * Arrays are written as they are in memory: the format is little-endian and
 * so is every machine longctx builds on (a big-endian host refuses).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

#define SESSION_MAGIC "LCSESSN1"
#define SESSION_HEADER_BYTES 192
#define SESSION_VERSION_NO_STATES 1u /* before the recurrent states */
#define SESSION_VERSION_NO_RINGS 2u  /* before the window layers' rings */
#define RING_HEADER_BYTES 24         /* i64 window, slots, hi */
#define FLAG_LOGITS 1u
#define FLAG_SAMPLER 2u
#define FLAG_MASS 4u
#define FLAGS_KNOWN (FLAG_LOGITS | FLAG_SAMPLER | FLAG_MASS)

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}
static uint64_t fnv_u64(uint64_t h, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return fnv(h, b, 8);
}
static uint64_t fnv_f32(uint64_t h, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return fnv_u64(h, u);
}

static bool little_endian(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static uint64_t rope_hash(uint64_t h, const lc_rope_config *r) {
    h = fnv_u64(h, (uint64_t)r->layout);
    h = fnv_u64(h, (uint64_t)r->n_dims);
    h = fnv_f32(h, r->freq_base);
    h = fnv_u64(h, (uint64_t)r->scaling);
    h = fnv_f32(h, r->factor);
    h = fnv_u64(h, (uint64_t)r->orig_ctx);
    h = fnv_f32(h, r->ext_factor);
    h = fnv_f32(h, r->attn_factor);
    h = fnv_f32(h, r->beta_fast);
    return fnv_f32(h, r->beta_slow);
}

/* Bytes of a tensor's data (0 when its shape or type is invalid). */
static size_t tensor_bytes(const lc_tensor *t) {
    size_t rb = 0, total = 0;
    if (!t->data || t->rows < 1 || lc_dtype_row_bytes(t->type, t->cols, &rb, NULL) != LC_OK ||
        !lc_mul_size(rb, (size_t)t->rows, &total))
        return 0;
    return total;
}

static uint64_t sample_tensor(uint64_t h, const lc_tensor *t, size_t head, size_t tail) {
    const size_t n = tensor_bytes(t);
    const unsigned char *d = t->data;
    h = fnv_u64(h, (uint64_t)t->type);
    h = fnv_u64(h, (uint64_t)t->rows);
    h = fnv_u64(h, (uint64_t)t->cols);
    if (!n) return h;
    h = fnv(h, d, LC_MIN(head, n));
    if (tail && n > head) h = fnv(h, d + n - LC_MIN(tail, n - head), LC_MIN(tail, n - head));
    return h;
}

uint64_t lc_model_fingerprint(const lc_model *m) {
    if (!m) return 0;
    const lc_model_config *c = &m->cfg;
    uint64_t h = FNV_OFFSET;
    const int64_t shape[8] = {c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
                              c->vocab_size, c->ctx_train};
    for (int i = 0; i < 8; i++) h = fnv_u64(h, (uint64_t)shape[i]);
    h = fnv_f32(h, c->norm_eps);
    h = rope_hash(h, &c->rope);
    h = sample_tensor(h, &m->w.tok_embd, 4096, 4096);
    h = sample_tensor(h, &m->w.output, 4096, 4096);
    h = sample_tensor(h, &m->w.output_norm, 4096, 0);
    for (int l = 0; m->w.layers && l < c->n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        const lc_tensor *t[9] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 9; i++) h = sample_tensor(h, t[i], 256, 0);
    }
    /* Gated DeltaNet families (whose sessions came with version 2): the
     * state shapes and the layers' own tensors too */
    const lc_family *f = &c->fam;
    if (f->flags & LC_ARCH_DELTANET) {
        const int64_t ssm[6] = {f->full_attn_interval, f->ssm_conv_kernel, f->ssm_d_k,
                                f->ssm_n_k_heads,      f->ssm_n_v_heads,   f->ssm_d_v};
        for (int i = 0; i < 6; i++) h = fnv_u64(h, (uint64_t)ssm[i]);
        for (int l = 0; m->w.layers && l < c->n_layers; l++) {
            const lc_layer_weights *L = &m->w.layers[l];
            const lc_tensor *t[8] = {&L->wqkv,  &L->ssm_a, &L->ssm_dt_b, &L->ssm_conv,
                                     &L->ssm_ba, &L->ssm_z, &L->ssm_norm, &L->ssm_out};
            for (int i = 0; i < 8; i++) h = sample_tensor(h, t[i], 256, 0);
        }
    }
    return h;
}

/* What a cache's K/V mean: shapes, types, policy and RoPE; with the slot
 * count, chunk and rotation limit given (those of a context of another size). */
static uint64_t context_fingerprint_as(const lc_context *ctx, int64_t n_slots, int64_t n_chunk, int64_t rot_limit) {
    const lc_kv_cache *c = &ctx->kv;
    uint64_t h = FNV_OFFSET;
    const int64_t v[12] = {c->policy, c->n_sinks, c->window, c->n_keep, c->n_heavy, n_slots, n_chunk,
                           c->n_layers, c->n_head_kv, c->head_dim, c->k_type, c->v_type};
    for (int i = 0; i < 12; i++) h = fnv_u64(h, (uint64_t)v[i]);
    h = fnv_u64(h, (uint64_t)rot_limit);
    if (ctx->wring.n_layers) { /* window layers' rings (contexts without keep their fingerprint) */
        h = fnv_u64(h, (uint64_t)ctx->wring.window);
        h = fnv_u64(h, (uint64_t)ctx->wring.cap);
    }
    return rope_hash(h, &ctx->rope_cfg);
}

static uint64_t context_fingerprint(const lc_context *ctx) {
    return context_fingerprint_as(ctx, ctx->kv.n_slots, ctx->kv.n_chunk, ctx->kv.rot_limit);
}

/* The fingerprint this full or shift context would have with n_slots slots
 * (another -c, the same batch size): false when no such context exists. */
static bool fingerprint_resized(const lc_context *ctx, int64_t n_slots, uint64_t *fp) {
    const lc_kv_cache *c = &ctx->kv;
    const lc_kv_policy_cfg pc = {c->policy, c->n_sinks, c->window, c->n_keep, c->n_heavy, false};
    int64_t ns = 0, nc = 0, rl = 0;
    lc_error e;
    if (lc_kv_policy_plan(&pc, n_slots, ctx->n_batch_asked, &ns, &nc, &rl, &e) != LC_OK || ns != n_slots) return false;
    /* the cache sets its rotation limit for the ring policies only (which
     * never come here): the full and shift caches keep theirs, 0 */
    *fp = context_fingerprint_as(ctx, ns, nc, c->rot_limit);
    return true;
}

static void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *b) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)b[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}
static int64_t get_i64(const unsigned char *b) { return (int64_t)get_u64(b); }

/* The header's fields. */
typedef struct {
    uint32_t version, flags;
    uint64_t model_fp, ctx_fp;
    int64_t n_tokens, blob_len, n_slots, n_saved, n_used, next_pos, n_seen, ring_n, base, hw, discarded, shifts;
    uint32_t in_order, vocab, policy, k_type, v_type, n_layers;
    int64_t n_sinks, window, n_keep, n_heavy;
    uint32_t n_states, n_rings; /* recurrent (DeltaNet) states; window layers' rings */
} session_header;

static void header_encode(const session_header *h, unsigned char *b) {
    memset(b, 0, SESSION_HEADER_BYTES);
    memcpy(b, SESSION_MAGIC, 8);
    put_u32(b + 8, h->version);
    put_u32(b + 12, h->flags);
    put_u64(b + 16, h->model_fp);
    put_u64(b + 24, h->ctx_fp);
    const int64_t a[12] = {h->n_tokens, h->blob_len, h->n_slots, h->n_saved, h->n_used, h->next_pos,
                           h->n_seen,   h->ring_n,   h->base,    h->hw,      h->discarded, h->shifts};
    for (int i = 0; i < 12; i++) put_u64(b + 32 + 8 * i, (uint64_t)a[i]);
    const uint32_t u[6] = {h->in_order, h->vocab, h->policy, h->k_type, h->v_type, h->n_layers};
    for (int i = 0; i < 6; i++) put_u32(b + 128 + 4 * i, u[i]);
    const int64_t p[4] = {h->n_sinks, h->window, h->n_keep, h->n_heavy};
    for (int i = 0; i < 4; i++) put_u64(b + 152 + 8 * i, (uint64_t)p[i]);
    put_u32(b + 184, h->n_states);
    put_u32(b + 188, h->n_rings);
}

static void header_decode(const unsigned char *b, session_header *h) {
    h->version = get_u32(b + 8);
    h->flags = get_u32(b + 12);
    h->model_fp = get_u64(b + 16);
    h->ctx_fp = get_u64(b + 24);
    int64_t *a[12] = {&h->n_tokens, &h->blob_len, &h->n_slots, &h->n_saved, &h->n_used, &h->next_pos,
                      &h->n_seen,   &h->ring_n,   &h->base,    &h->hw,      &h->discarded, &h->shifts};
    for (int i = 0; i < 12; i++) *a[i] = get_i64(b + 32 + 8 * i);
    uint32_t *u[6] = {&h->in_order, &h->vocab, &h->policy, &h->k_type, &h->v_type, &h->n_layers};
    for (int i = 0; i < 6; i++) *u[i] = get_u32(b + 128 + 4 * i);
    int64_t *p[4] = {&h->n_sinks, &h->window, &h->n_keep, &h->n_heavy};
    for (int i = 0; i < 4; i++) *p[i] = get_i64(b + 152 + 8 * i);
    h->n_states = get_u32(b + 184);
    h->n_rings = get_u32(b + 188);
}

/* Bytes of every DeltaNet layer's saved state together (false on overflow). */
static bool states_bytes(const lc_context *ctx, size_t *total) {
    *total = 0;
    for (int32_t l = 0; ctx->dn && l < ctx->sh.n_layers; l++)
        if (ctx->dn[l] && !lc_add_size(*total, lc_deltanet_state_bytes(ctx->dn[l]), total)) return false;
    return true;
}

/* Bytes of the window layers' rings in a session (0 without). */
static bool rings_bytes(const lc_context *ctx, size_t *total) {
    const lc_kv_wring *r = &ctx->wring;
    size_t rows = 0, t = 0;
    *total = 0;
    if (!r->n_layers) return true;
    return lc_mul3_size(r->k_row_bytes + r->v_row_bytes, (size_t)r->cap, (size_t)r->n_layers, &rows) &&
           lc_add_size(rows, RING_HEADER_BYTES, &t) && lc_add_size(t, (size_t)r->cap * sizeof(int64_t), total);
}

/* Slots 0..n_saved-1 cover every occupied one. */
static int64_t saved_slots(const lc_kv_cache *c) {
    int64_t n = 0;
    for (int64_t s = 0; s < c->n_slots; s++)
        if (c->pos[s] >= 0) n = s + 1;
    return n;
}

/* ---- Saving ---------------------------------------------------------------- */

/* The file a save replaces: path, or the target of the symlink path is (the
 * link stays a link). malloc'd; NULL when out of memory. */
static char *save_target(const char *path) {
    struct stat ls;
    if (lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode)) {
        char *r = realpath(path, NULL); /* NULL when dangling: replace the link */
        if (r) return r;
    }
    const size_t n = strlen(path) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, path, n);
    return p;
}

/* Saves write TARGET.tmp.PID.XXXXXX and rename it over TARGET. One killed
 * mid-write (SIGKILL, SIGXFSZ) leaves its temporary behind: the next save
 * removes those whose process is gone (kill(pid, 0) says ESRCH). */
static void remove_stale_tmp(const char *target) {
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    const size_t dir_len = slash ? (size_t)(slash - target) : 0, base_len = strlen(base);
    char *dir = malloc(dir_len + 2);
    if (!dir) return;
    if (slash) {
        memcpy(dir, target, dir_len);
        dir[dir_len] = '\0';
        if (dir_len == 0) dir[0] = '/', dir[1] = '\0';
    } else {
        dir[0] = '.', dir[1] = '\0';
    }
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, base_len) != 0 || strncmp(n + base_len, ".tmp.", 5) != 0) continue;
        char *end;
        errno = 0;
        const long pid = strtol(n + base_len + 5, &end, 10);
        if (errno || end == n + base_len + 5 || *end != '.' || strlen(end + 1) != 6 || pid <= 0 || pid > INT32_MAX)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to judge) */
        const size_t len = strlen(dir) + 1 + strlen(n) + 1;
        char *full = malloc(len);
        if (full) {
            snprintf(full, len, "%s/%s", dir, n);
            unlink(full);
            free(full);
        }
    }
    closedir(d);
    free(dir);
}

typedef struct {
    FILE *f;
    uint64_t h;
    bool ok;
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (!w->ok || n == 0) return;
    w->h = fnv(w->h, p, n);
    if (fwrite(p, 1, n, w->f) != n) w->ok = false;
}

lc_status lc_session_save(const lc_context *ctx, const char *path, const int32_t *tokens, int64_t n_tokens,
                          const void *blob, size_t blob_len, const lc_sampler *sampler, lc_error *err) {
    if (!ctx || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "session: NULL context or path");
    if (!little_endian()) return lc_fail(err, LC_ERR_UNSUPPORTED, "session: big-endian hosts are not supported");
    if (ctx->linear)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "session: a LINEAR-attention context keeps no KV cache to save");
    if (ctx->kv.n_layers > 0 && !ctx->kv.k)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "session: the context's KV cache is held elsewhere (kv_external)");
    if (n_tokens < 0 || n_tokens > LC_SESSION_MAX_TOKENS || (n_tokens > 0 && !tokens))
        return lc_fail(err, LC_ERR_INVALID_ARG, "session: bad token history (%lld tokens)", (long long)n_tokens);
    if (blob_len > (size_t)LC_SESSION_MAX_BLOB || (blob_len > 0 && !blob))
        return lc_fail(err, LC_ERR_INVALID_ARG, "session: bad blob (%zu bytes)", blob_len);
    const lc_kv_cache *c = &ctx->kv;
    if (c->n_pending) return lc_fail(err, LC_ERR_INVALID_ARG, "session: the context is in the middle of an evaluation");

    session_header h;
    memset(&h, 0, sizeof h);
    h.version = LC_SESSION_VERSION;
    h.flags = (ctx->have_logits ? FLAG_LOGITS : 0) | (sampler ? FLAG_SAMPLER : 0) | (c->mass ? FLAG_MASS : 0);
    h.model_fp = lc_model_fingerprint(ctx->model);
    h.ctx_fp = context_fingerprint(ctx);
    h.n_tokens = n_tokens;
    h.blob_len = (int64_t)blob_len;
    h.n_slots = c->n_slots;
    h.n_saved = saved_slots(c);
    h.n_used = c->n_used;
    h.next_pos = c->next_pos;
    h.n_seen = c->n_seen;
    h.ring_n = c->ring_n;
    h.base = c->base;
    h.hw = c->hw;
    h.discarded = c->n_discarded;
    h.shifts = c->n_shifts;
    h.in_order = c->in_order;
    h.vocab = (uint32_t)ctx->sh.vocab;
    h.policy = (uint32_t)c->policy;
    h.k_type = (uint32_t)c->k_type;
    h.v_type = (uint32_t)c->v_type;
    h.n_layers = (uint32_t)c->n_layers;
    h.n_sinks = c->n_sinks;
    h.window = c->window;
    h.n_keep = c->n_keep;
    h.n_heavy = c->n_heavy;
    h.n_states = (uint32_t)ctx->n_dn_layers;
    h.n_rings = (uint32_t)ctx->wring.n_layers;
    size_t state_max = 0; /* one state at a time goes through this buffer */
    for (int32_t l = 0; ctx->dn && l < ctx->sh.n_layers; l++)
        if (ctx->dn[l]) state_max = LC_MAX(state_max, lc_deltanet_state_bytes(ctx->dn[l]));

    char *target = save_target(path);
    const size_t plen = target ? strlen(target) : 0;
    char *tmp = target ? malloc(plen + 40) : NULL;
    if (!tmp) {
        free(target);
        return lc_fail(err, LC_ERR_NOMEM, "session: out of memory");
    }
    remove_stale_tmp(target);
    snprintf(tmp, plen + 40, "%s.tmp.%ld.XXXXXX", target, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        lc_status st = lc_fail(err, LC_ERR_IO, "session: cannot create a temporary file beside %s: %s", target,
                               strerror(errno));
        free(tmp);
        free(target);
        return st;
    }
    struct stat old;
    if (stat(target, &old) == 0 && S_ISREG(old.st_mode)) (void)fchmod(fd, old.st_mode & 07777); /* keep its mode */
    writer w = {fdopen(fd, "wb"), FNV_OFFSET, true};
    if (!w.f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        free(target);
        return lc_fail(err, LC_ERR_IO, "session: cannot write %s", path);
    }
    unsigned char hb[SESSION_HEADER_BYTES];
    header_encode(&h, hb);
    put(&w, hb, sizeof hb);
    put(&w, tokens, (size_t)n_tokens * sizeof(int32_t));
    put(&w, blob, blob_len);
    put(&w, c->pos, (size_t)c->n_slots * sizeof(int64_t));
    put(&w, c->tok, (size_t)c->n_slots * sizeof(int32_t));
    if (c->mass) put(&w, c->mass, (size_t)c->n_slots * sizeof(double));
    for (int32_t l = 0; l < c->n_layers; l++)
        put(&w, c->k + (size_t)l * (size_t)c->n_slots * c->k_row_bytes, (size_t)h.n_saved * c->k_row_bytes);
    for (int32_t l = 0; l < c->n_layers; l++)
        put(&w, c->v + (size_t)l * (size_t)c->n_slots * c->v_row_bytes, (size_t)h.n_saved * c->v_row_bytes);
    if (state_max) {
        void *sbuf = malloc(state_max);
        if (!sbuf) w.ok = false, errno = ENOMEM;
        for (int32_t l = 0; sbuf && l < ctx->sh.n_layers; l++) {
            if (!ctx->dn[l]) continue;
            const size_t n = lc_deltanet_state_bytes(ctx->dn[l]);
            if (lc_deltanet_state_save(ctx->dn[l], sbuf, state_max, NULL) != LC_OK) w.ok = false;
            put(&w, sbuf, n);
        }
        free(sbuf);
    }
    if (h.n_rings) {
        const lc_kv_wring *r = &ctx->wring;
        unsigned char rh[RING_HEADER_BYTES];
        put_u64(rh, (uint64_t)r->window);
        put_u64(rh + 8, (uint64_t)r->cap);
        put_u64(rh + 16, (uint64_t)r->hi);
        put(&w, rh, sizeof rh);
        put(&w, r->pos, (size_t)r->cap * sizeof(int64_t));
        put(&w, r->k, (size_t)r->n_layers * (size_t)r->cap * r->k_row_bytes);
        put(&w, r->v, (size_t)r->n_layers * (size_t)r->cap * r->v_row_bytes);
    }
    if (ctx->have_logits) put(&w, ctx->logits, (size_t)ctx->sh.vocab * sizeof(float));
    if (sampler) {
        lc_sampler_state *ss = malloc(sizeof *ss);
        uint8_t *sb = malloc(LC_SAMPLER_STATE_BYTES);
        if (ss && sb) {
            lc_sampler_get_state(sampler, ss);
            lc_sampler_state_encode(ss, sb);
            put(&w, sb, LC_SAMPLER_STATE_BYTES);
        } else {
            w.ok = false;
        }
        free(ss);
        free(sb);
    }
    unsigned char tr[8];
    put_u64(tr, w.h);
    if (w.ok && fwrite(tr, 1, 8, w.f) != 8) w.ok = false;
    if (w.ok && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)) w.ok = false;
    const int saved_errno = errno;
    if (fclose(w.f) != 0) w.ok = false;
    lc_status st = LC_OK;
    if (!w.ok) st = lc_fail(err, LC_ERR_IO, "session: writing %s failed: %s", path, strerror(saved_errno));
    else if (rename(tmp, target) != 0)
        st = lc_fail(err, LC_ERR_IO, "session: cannot rename %s to %s: %s", tmp, target, strerror(errno));
    if (st != LC_OK) unlink(tmp);
    free(tmp);
    free(target);
    return st;
}

/* ---- Loading ------------------------------------------------------------------ */

typedef struct {
    int32_t *tokens;
    void *blob;
    int64_t *pos;
    int32_t *tok;
    double *mass;
    char *k, *v;
    unsigned char *states; /* every DeltaNet layer's saved state, in layer order */
    size_t states_bytes;
    unsigned char ring_hdr[RING_HEADER_BYTES]; /* window layers' rings: window, slots, hi */
    int64_t *ring_pos;
    char *ring_k, *ring_v;
    float *logits;
    uint8_t *sampler;
} session_body;

static void body_free(session_body *b) {
    free(b->tokens);
    free(b->blob);
    lc_free_aligned(b->pos);
    lc_free_aligned(b->tok);
    lc_free_aligned(b->mass);
    lc_free_aligned(b->k);
    lc_free_aligned(b->v);
    free(b->states);
    lc_free_aligned(b->ring_pos);
    lc_free_aligned(b->ring_k);
    lc_free_aligned(b->ring_v);
    free(b->logits);
    free(b->sampler);
    memset(b, 0, sizeof *b);
}

typedef struct {
    FILE *f;
    uint64_t h; /* FNV-1a so far       */
    bool ok;
    uint64_t trailer; /* the file's checksum */
} reader;

static void get(reader *r, void *p, size_t n) {
    if (!r->ok || n == 0) return;
    if (fread(p, 1, n, r->f) != n) {
        r->ok = false;
        return;
    }
    r->h = fnv(r->h, p, n);
}

/* The header against the context: a clear message for each way it can be
 * foreign. */
static lc_status check_header(const lc_context *ctx, const session_header *h, const char *path, lc_error *err) {
    const lc_kv_cache *c = &ctx->kv;
    if (h->version > LC_SESSION_VERSION)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "session %s: version %u is newer than this build reads (%u)", path,
                       (unsigned)h->version, LC_SESSION_VERSION);
    if (h->version < SESSION_VERSION_NO_STATES || (h->flags & ~FLAGS_KNOWN) ||
        (h->version <= SESSION_VERSION_NO_RINGS && h->n_rings != 0) ||
        (h->version == SESSION_VERSION_NO_STATES && h->n_states != 0))
        return lc_fail(err, LC_ERR_FORMAT, "session %s: version %u, flags 0x%x: not a session this build wrote", path,
                       (unsigned)h->version, (unsigned)h->flags);
    if (h->model_fp != lc_model_fingerprint(ctx->model))
        return lc_fail(err, LC_ERR_FORMAT, "session %s was saved with another model (fingerprint %016llx, this one %016llx)",
                       path, (unsigned long long)h->model_fp, (unsigned long long)lc_model_fingerprint(ctx->model));
    if (h->policy != (uint32_t)c->policy || h->n_sinks != c->n_sinks || h->window != c->window ||
        h->n_keep != c->n_keep || h->n_heavy != c->n_heavy)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: saved with KV policy %s (sinks %lld, window %lld, keep %lld, heavy %lld), this "
                       "context uses %s (sinks %lld, window %lld, keep %lld, heavy %lld): give the same --kv-policy",
                       path, lc_kv_policy_name((lc_kv_policy)(h->policy < LC_KV_POLICY_COUNT ? h->policy : LC_KV_POLICY_COUNT)),
                       (long long)h->n_sinks, (long long)h->window, (long long)h->n_keep, (long long)h->n_heavy,
                       lc_kv_policy_name(c->policy), (long long)c->n_sinks, (long long)c->window, (long long)c->n_keep,
                       (long long)c->n_heavy);
    if (h->k_type != (uint32_t)c->k_type || h->v_type != (uint32_t)c->v_type)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: saved with a %s/%s cache, this context holds %s/%s (-ctk/-ctv)",
                       path, lc_dtype_name((lc_dtype)(h->k_type < LC_DTYPE_COUNT ? h->k_type : LC_DTYPE_COUNT)),
                       lc_dtype_name((lc_dtype)(h->v_type < LC_DTYPE_COUNT ? h->v_type : LC_DTYPE_COUNT)),
                       lc_dtype_name(c->k_type), lc_dtype_name(c->v_type));
    /* Another size (-c): the full and shift policies keep their tokens in the
     * first slots (at positions below next_pos), so the cache loads into a
     * context of any size that holds them; the other policies' slots are laid
     * out by their size. */
    const bool resized = h->n_slots != c->n_slots;
    if (resized && c->policy != LC_KV_POLICY_FULL && c->policy != LC_KV_POLICY_SHIFT)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: saved from a cache of %lld slots, this one has %lld (-c, -b); a %s cache cannot "
                       "change size", path, (long long)h->n_slots, (long long)c->n_slots, lc_kv_policy_name(c->policy));
    if (resized && (h->n_slots < 1 || h->n_slots > LC_CONTEXT_MAX_TOKENS))
        return lc_fail(err, LC_ERR_FORMAT, "session %s: inconsistent counts in the header", path);
    const int64_t held = LC_MAX(LC_MAX(h->next_pos, h->hw), h->n_saved);
    if (resized && held > c->n_slots)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s holds %lld tokens (saved with a context of %lld), more than this context's %lld: "
                       "give -c %lld or more", path, (long long)held, (long long)h->n_slots, (long long)c->n_slots,
                       (long long)held);
    if (h->n_rings != (uint32_t)ctx->wring.n_layers)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: holds the rings of %u window layers, this context keeps %d (rings are kept under "
                       "the full policy unless --swa-full, or -c is within a batch of the window)",
                       path, (unsigned)h->n_rings, (int)ctx->wring.n_layers);
    uint64_t fp = context_fingerprint(ctx);
    const char *swa = ctx->wring.n_layers ? ", or the window layers' window (--swa)" : "";
    if (resized && !fingerprint_resized(ctx, h->n_slots, &fp))
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: saved with other context settings (RoPE scaling or batch size%s)", path, swa);
    if (h->ctx_fp != fp)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: saved with other context settings (RoPE scaling or batch size%s)", path, swa);
    if (h->vocab != (uint32_t)ctx->sh.vocab || h->n_layers != (uint32_t)c->n_layers)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: vocabulary or layer count differs", path);
    if (h->n_states != (uint32_t)ctx->n_dn_layers)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: holds %u recurrent (Gated DeltaNet) layer states, this model has %d such layers%s",
                       path, (unsigned)h->n_states, (int)ctx->n_dn_layers,
                       h->version == SESSION_VERSION_NO_STATES ? " (a version-1 session holds none)" : "");
    /* counts */
    if (h->n_tokens < 0 || h->n_tokens > LC_SESSION_MAX_TOKENS || h->blob_len < 0 || h->blob_len > LC_SESSION_MAX_BLOB ||
        h->n_saved < 0 || h->n_saved > c->n_slots || h->n_used < 0 || h->n_used > h->n_saved || h->hw < 0 ||
        h->hw > c->n_slots || h->next_pos < 0 || h->n_seen < h->n_used || h->ring_n < 0 || h->base < 0 ||
        h->discarded < 0 || h->shifts < 0 || h->in_order > 1 || h->next_pos > ((int64_t)1 << 50) ||
        h->n_seen > ((int64_t)1 << 50) || h->base > h->next_pos)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: inconsistent counts in the header", path);
    return LC_OK;
}

/* The slots, as read, must describe a cache the policy could have built. */
static lc_status check_slots(const lc_context *ctx, const session_header *h, const session_body *b, const char *path,
                             lc_error *err) {
    const lc_kv_cache *c = &ctx->kv;
    int64_t occupied = 0;
    for (int64_t s = 0; s < c->n_slots; s++) {
        const int64_t p = b->pos[s];
        if (p < 0) {
            if (p != -1 || b->tok[s] != -1)
                return lc_fail(err, LC_ERR_FORMAT, "session %s: free slot %lld is not marked free", path, (long long)s);
            continue;
        }
        occupied++;
        if (s >= h->n_saved || b->tok[s] < 0 || b->tok[s] >= ctx->sh.vocab || p >= ((int64_t)1 << 50))
            return lc_fail(err, LC_ERR_FORMAT, "session %s: slot %lld holds token %d at %lld", path, (long long)s,
                           b->tok[s], (long long)p);
        switch (c->policy) {
        case LC_KV_POLICY_FULL:
        case LC_KV_POLICY_SHIFT:
            if ((h->in_order && p != s) || s >= h->n_used)
                return lc_fail(err, LC_ERR_FORMAT, "session %s: slot %lld holds position %lld", path, (long long)s,
                               (long long)p);
            break;
        case LC_KV_POLICY_WINDOW:
        case LC_KV_POLICY_SINKS:
            if (p >= c->rot_limit || (s < c->n_sinks && p != s))
                return lc_fail(err, LC_ERR_FORMAT, "session %s: ring slot %lld rotated at %lld", path, (long long)s,
                               (long long)p);
            break;
        default:
            if (p >= h->next_pos || s >= h->hw || !(b->mass[s] >= 0.0) || !isfinite(b->mass[s]))
                return lc_fail(err, LC_ERR_FORMAT, "session %s: h2o slot %lld (position %lld)", path, (long long)s,
                               (long long)p);
            break;
        }
    }
    if (occupied != h->n_used)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: %lld occupied slots, the header says %lld", path,
                       (long long)occupied, (long long)h->n_used);
    if ((c->policy == LC_KV_POLICY_FULL || c->policy == LC_KV_POLICY_SHIFT) && h->in_order && h->next_pos != h->n_used)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: next position %lld after %lld tokens", path,
                       (long long)h->next_pos, (long long)h->n_used);
    /* H2O fills evicted slots before it takes a new one at hw: every slot
     * below hw is occupied (else eviction would hand out slots past the end) */
    if (c->policy == LC_KV_POLICY_H2O && h->n_used != h->hw)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: h2o high-water mark %lld with %lld occupied slots", path,
                       (long long)h->hw, (long long)h->n_used);
    if ((c->policy == LC_KV_POLICY_WINDOW || c->policy == LC_KV_POLICY_SINKS) &&
        h->n_used != LC_MIN(h->next_pos, c->n_sinks) + LC_MIN(h->ring_n, c->ring_cap))
        return lc_fail(err, LC_ERR_FORMAT, "session %s: ring state does not add up", path);
    for (int64_t i = 0; i < h->n_tokens; i++)
        if (b->tokens[i] < 0 || b->tokens[i] >= ctx->sh.vocab)
            return lc_fail(err, LC_ERR_FORMAT, "session %s: history token %lld is %d (vocabulary 0..%d)", path,
                           (long long)i, b->tokens[i], ctx->sh.vocab - 1);
    if (b->logits)
        for (int32_t i = 0; i < ctx->sh.vocab; i++)
            if (!isfinite(b->logits[i]))
                return lc_fail(err, LC_ERR_FORMAT, "session %s: logit %d is not finite", path, i);
    return LC_OK;
}

/* Each saved recurrent state against its layer: magic, shape, kernel, size,
 * finite values (lc_deltanet_state_check; nothing changes). */
static lc_status check_states(const lc_context *ctx, const session_body *b, const char *path, lc_error *err) {
    size_t off = 0;
    for (int32_t l = 0; b->states && l < ctx->sh.n_layers; l++) {
        if (!ctx->dn[l]) continue;
        const size_t n = lc_deltanet_state_bytes(ctx->dn[l]);
        size_t end = 0;
        if (!lc_add_size(off, n, &end) || end > b->states_bytes)
            return lc_fail(err, LC_ERR_FORMAT, "session %s: the recurrent states end early (layer %d)", path, (int)l);
        lc_error e;
        if (lc_deltanet_state_check(ctx->dn[l], b->states + off, n, &e) != LC_OK)
            return lc_fail(err, LC_ERR_FORMAT, "session %s: layer %d's Gated DeltaNet state: %s", path, (int)l, e.msg);
        off = end;
    }
    if (off != b->states_bytes)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: %zu bytes of recurrent states, the layers hold %zu", path,
                       b->states_bytes, off);
    return LC_OK;
}

/* The window layers' rings as read: the context's window and slot count,
 * and every slot empty or holding a position p < hi (hi: the main cache's
 * next position) with p in the last C positions and in slot p mod C. */
static lc_status check_rings(const lc_context *ctx, const session_header *h, const session_body *b, const char *path,
                             lc_error *err) {
    const lc_kv_wring *r = &ctx->wring;
    if (!h->n_rings) return LC_OK;
    const int64_t window = get_i64(b->ring_hdr), cap = get_i64(b->ring_hdr + 8), hi = get_i64(b->ring_hdr + 16);
    if (window != r->window || cap != r->cap)
        return lc_fail(err, LC_ERR_FORMAT,
                       "session %s: window-layer rings of window %lld in %lld slots, this context keeps window %lld in "
                       "%lld (--swa, -b)", path, (long long)window, (long long)cap, (long long)r->window,
                       (long long)r->cap);
    if (hi != h->n_seen)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: the rings end at %lld, the cache at %lld", path, (long long)hi,
                       (long long)h->n_seen);
    /* rotation positions: the tokens' own under FULL, t - base under the
     * ring policies (below their rotation limit), t - the tokens discarded
     * under SHIFT (past the kept prefix) */
    const bool ring_policy = ctx->kv.policy == LC_KV_POLICY_WINDOW || ctx->kv.policy == LC_KV_POLICY_SINKS;
    const bool shift = ctx->kv.policy == LC_KV_POLICY_SHIFT;
    if (h->discarded > h->n_seen)
        return lc_fail(err, LC_ERR_FORMAT, "session %s: inconsistent counts in the header", path);
    for (int64_t s = 0; s < cap; s++) {
        const int64_t p = b->ring_pos[s];
        if (p == INT64_MAX) continue;
        /* base, discarded <= n_seen < 2^50 (check_header) */
        const int64_t t = p + (ring_policy ? h->base : shift && p >= ctx->kv.n_keep ? h->discarded : 0);
        if (p < 0 || (ring_policy && p >= ctx->kv.rot_limit) || t >= hi || t < hi - cap || t % cap != s)
            return lc_fail(err, LC_ERR_FORMAT, "session %s: ring slot %lld holds position %lld", path, (long long)s,
                           (long long)p);
    }
    return LC_OK;
}

void lc_session_info_free(lc_session_info *info) {
    if (!info) return;
    free(info->tokens);
    free(info->blob);
    memset(info, 0, sizeof *info);
}

lc_status lc_session_load(lc_context *ctx, const char *path, lc_sampler *sampler, int32_t **tokens, int64_t *n_tokens,
                          void **blob, size_t *blob_len, bool *has_sampler, lc_error *err) {
    lc_session_info info;
    const lc_status st = lc_session_load_checked(ctx, path, sampler, NULL, NULL, &info, err);
    if (tokens) *tokens = info.tokens, info.tokens = NULL;
    if (n_tokens) *n_tokens = info.n_tokens;
    if (blob) *blob = info.blob, info.blob = NULL;
    if (blob_len) *blob_len = info.blob_len;
    if (has_sampler) *has_sampler = info.has_sampler;
    lc_session_info_free(&info);
    return st;
}

/* The exact file size the header implies (false when it overflows). */
static bool implied_size(const lc_context *ctx, const session_header *h, size_t *need) {
    const lc_kv_cache *c = &ctx->kv;
    const bool with_logits = h->flags & FLAG_LOGITS, with_sampler = h->flags & FLAG_SAMPLER;
    size_t kv_saved = 0, t = 0, states = 0, rings = 0;
    *need = SESSION_HEADER_BYTES + 8;
    return states_bytes(ctx, &states) && lc_add_size(*need, states, need) && rings_bytes(ctx, &rings) &&
           lc_add_size(*need, rings, need) &&
           lc_mul3_size(c->k_row_bytes + c->v_row_bytes, (size_t)h->n_saved, (size_t)c->n_layers, &kv_saved) &&
           lc_mul_size((size_t)h->n_tokens, 4, &t) && lc_add_size(*need, t, need) &&
           lc_add_size(*need, (size_t)h->blob_len, need) &&
           lc_mul_size((size_t)h->n_slots, 12 + (c->mass ? 8 : 0), &t) && lc_add_size(*need, t, need) &&
           lc_add_size(*need, kv_saved, need) &&
           lc_add_size(*need, with_logits ? (size_t)ctx->sh.vocab * 4 : 0, need) &&
           lc_add_size(*need, with_sampler ? LC_SAMPLER_STATE_BYTES : 0, need);
}

/* Every part of the body, in file order, through the checksum. */
static bool read_body(reader *r, const lc_context *ctx, const session_header *h, session_body *b) {
    const lc_kv_cache *c = &ctx->kv;
    get(r, b->tokens, (size_t)h->n_tokens * sizeof(int32_t));
    get(r, b->blob, (size_t)h->blob_len);
    get(r, b->pos, (size_t)h->n_slots * sizeof(int64_t)); /* another size: full and shift only, no mass */
    get(r, b->tok, (size_t)h->n_slots * sizeof(int32_t));
    if (c->mass) get(r, b->mass, (size_t)c->n_slots * sizeof(double));
    for (int32_t l = 0; l < c->n_layers; l++)
        get(r, b->k + (size_t)l * (size_t)c->n_slots * c->k_row_bytes, (size_t)h->n_saved * c->k_row_bytes);
    for (int32_t l = 0; l < c->n_layers; l++)
        get(r, b->v + (size_t)l * (size_t)c->n_slots * c->v_row_bytes, (size_t)h->n_saved * c->v_row_bytes);
    get(r, b->states, b->states_bytes);
    if (b->ring_pos) {
        const lc_kv_wring *w = &ctx->wring;
        get(r, b->ring_hdr, RING_HEADER_BYTES);
        get(r, b->ring_pos, (size_t)w->cap * sizeof(int64_t));
        get(r, b->ring_k, (size_t)w->n_layers * (size_t)w->cap * w->k_row_bytes);
        get(r, b->ring_v, (size_t)w->n_layers * (size_t)w->cap * w->v_row_bytes);
    }
    if (b->logits) get(r, b->logits, (size_t)ctx->sh.vocab * sizeof(float));
    if (b->sampler) get(r, b->sampler, LC_SAMPLER_STATE_BYTES);
    unsigned char tr[8];
    if (!r->ok || fread(tr, 1, 8, r->f) != 8) return false;
    r->trailer = get_u64(tr);
    return true;
}

/* Swap the verified buffers into the context (they are the context's now). */
static void install(lc_context *ctx, const session_header *h, session_body *b) {
    lc_kv_cache *c = &ctx->kv;
    lc_free_aligned(c->k);
    lc_free_aligned(c->v);
    lc_free_aligned(c->pos);
    lc_free_aligned(c->tok);
    lc_free_aligned(c->mass);
    c->k = b->k;
    c->v = b->v;
    c->pos = b->pos;
    c->tok = b->tok;
    c->mass = b->mass;
    b->k = b->v = NULL;
    b->pos = NULL;
    b->tok = NULL;
    b->mass = NULL;
    c->n_pending = 0;
    c->n_used = h->n_used;
    c->hw = h->hw;
    c->next_pos = h->next_pos;
    c->n_seen = h->n_seen;
    c->in_order = h->in_order != 0;
    c->ring_n = h->ring_n;
    c->base = h->base;
    c->n_discarded = h->discarded;
    c->n_shifts = h->shifts;
    size_t off = 0; /* the states were checked (check_states): loading them cannot fail */
    for (int32_t l = 0; b->states && l < ctx->sh.n_layers; l++) {
        if (!ctx->dn[l]) continue;
        const size_t n = lc_deltanet_state_bytes(ctx->dn[l]);
        (void)lc_deltanet_state_load(ctx->dn[l], b->states + off, n, NULL);
        off += n;
    }
    if (b->ring_pos) {
        lc_kv_wring *w = &ctx->wring;
        lc_free_aligned(w->pos);
        lc_free_aligned(w->k);
        lc_free_aligned(w->v);
        w->pos = b->ring_pos;
        w->k = b->ring_k;
        w->v = b->ring_v;
        w->hi = get_i64(b->ring_hdr + 16);
        b->ring_pos = NULL;
        b->ring_k = b->ring_v = NULL;
    }
    ctx->have_logits = b->logits != NULL;
    if (b->logits) memcpy(ctx->logits, b->logits, (size_t)ctx->sh.vocab * sizeof(float));
}

/* Reads and verifies everything into fresh buffers, in this order: the file,
 * the header (magic, version, fingerprints, counts), the exact size it
 * implies, memory, the body and its checksum, the slots, the recurrent
 * states, the caller's check,
 * the sampler state; only then does anything change. One exit path. */
lc_status lc_session_load_checked(lc_context *ctx, const char *path, lc_sampler *sampler, lc_session_check_fn check,
                                  void *check_user, lc_session_info *info, lc_error *err) {
    if (info) memset(info, 0, sizeof *info);
    if (!ctx || !path) return lc_fail(err, LC_ERR_INVALID_ARG, "session: NULL context or path");
    if (!little_endian()) return lc_fail(err, LC_ERR_UNSUPPORTED, "session: big-endian hosts are not supported");
    if (ctx->linear) return lc_fail(err, LC_ERR_UNSUPPORTED, "session: a LINEAR-attention context has no KV cache");
    if (ctx->kv.n_layers > 0 && !ctx->kv.k)
        return lc_fail(err, LC_ERR_UNSUPPORTED, "session: the context's KV cache is held elsewhere (kv_external)");
    lc_kv_cache *c = &ctx->kv;
    lc_status st = LC_OK;
    session_body b;
    memset(&b, 0, sizeof b);
    lc_sampler_state *ss = NULL;
    session_header h;
    memset(&h, 0, sizeof h);
    unsigned char hb[SESSION_HEADER_BYTES];
    struct stat sb;
    size_t need = 0, kv_all = 0;

    FILE *f = fopen(path, "rb");
    if (!f) {
        st = lc_fail(err, LC_ERR_IO, "session: cannot open %s: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = lc_fail(err, LC_ERR_IO, "session: %s is not a regular file", path);
        goto done;
    }
    const uint64_t file_size = (uint64_t)sb.st_size;
    if (file_size < SESSION_HEADER_BYTES + 8 || fread(hb, 1, sizeof hb, f) != sizeof hb) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: truncated (%llu bytes, less than a header)", path,
                     (unsigned long long)file_size);
        goto done;
    }
    if (memcmp(hb, SESSION_MAGIC, 8) != 0) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: not a longctx session (bad magic)", path);
        goto done;
    }
    header_decode(hb, &h);
    if ((st = check_header(ctx, &h, path, err)) != LC_OK) goto done;
    if (((h.flags & FLAG_MASS) != 0) != (c->mass != NULL)) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: attention masses do not match the policy", path);
        goto done;
    }
    const bool size_ok = implied_size(ctx, &h, &need);
    if (!size_ok || need != file_size) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: %llu bytes, the header implies %llu (truncated or extended)",
                     path, (unsigned long long)file_size, size_ok ? (unsigned long long)need : 0ull);
        goto done;
    }
    /* Fresh buffers for everything (a second cache, briefly): refuse if that
     * would not fit. */
    const size_t avail = lc_mem_available_bytes();
    size_t row_kv, load_total;
    if (!lc_add_size(c->k_row_bytes, c->v_row_bytes, &row_kv) ||
        !lc_mul3_size(row_kv, (size_t)c->n_slots, (size_t)c->n_layers, &kv_all) ||
        !lc_add_size(kv_all, need, &load_total) || (avail && load_total > avail)) {
        char a[32], m[32];
        st = lc_fail(err, LC_ERR_TOO_LARGE, "session %s: loading needs %s but only %s is available", path,
                     lc_format_bytes((double)kv_all + (double)need, a, sizeof a),
                     lc_format_bytes((double)avail, m, sizeof m));
        goto done;
    }
    b.tokens = malloc((size_t)LC_MAX(h.n_tokens, 1) * sizeof(int32_t));
    b.blob = malloc((size_t)LC_MAX(h.blob_len, 1));
    const int64_t n_pos = LC_MAX(h.n_slots, c->n_slots); /* the file's slots, then this context's */
    b.pos = lc_malloc_aligned((size_t)n_pos * sizeof(int64_t));
    b.tok = lc_malloc_aligned((size_t)n_pos * sizeof(int32_t));
    if (c->mass) b.mass = lc_malloc_aligned((size_t)c->n_slots * sizeof(double));
    b.k = lc_malloc_aligned(c->k_row_bytes * (size_t)c->n_slots * (size_t)c->n_layers);
    b.v = lc_malloc_aligned(c->v_row_bytes * (size_t)c->n_slots * (size_t)c->n_layers);
    if (!states_bytes(ctx, &b.states_bytes)) { /* cannot fail: implied_size summed them */
        st = lc_fail(err, LC_ERR_TOO_LARGE, "session %s: recurrent states overflow size_t", path);
        goto done;
    }
    if (b.states_bytes) b.states = malloc(b.states_bytes);
    if (h.n_rings) {
        const lc_kv_wring *w = &ctx->wring;
        b.ring_pos = lc_malloc_aligned((size_t)w->cap * sizeof(int64_t));
        b.ring_k = lc_malloc_aligned((size_t)w->n_layers * (size_t)w->cap * w->k_row_bytes);
        b.ring_v = lc_malloc_aligned((size_t)w->n_layers * (size_t)w->cap * w->v_row_bytes);
    }
    if (h.flags & FLAG_LOGITS) b.logits = malloc((size_t)ctx->sh.vocab * sizeof(float));
    if (h.flags & FLAG_SAMPLER) b.sampler = malloc(LC_SAMPLER_STATE_BYTES);
    if (!b.tokens || !b.blob || !b.pos || !b.tok || (c->mass && !b.mass) || !b.k || !b.v ||
        (b.states_bytes && !b.states) || (h.n_rings && (!b.ring_pos || !b.ring_k || !b.ring_v)) ||
        ((h.flags & FLAG_LOGITS) && !b.logits) || ((h.flags & FLAG_SAMPLER) && !b.sampler)) {
        st = lc_fail(err, LC_ERR_NOMEM, "session %s: out of memory", path);
        goto done;
    }
    reader r = {f, fnv(FNV_OFFSET, hb, sizeof hb), true, 0};
    if (!read_body(&r, ctx, &h, &b)) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: truncated while reading", path);
        goto done;
    }
    if (r.trailer != r.h) {
        st = lc_fail(err, LC_ERR_FORMAT, "session %s: checksum mismatch (corrupted)", path);
        goto done;
    }
    for (int64_t s = c->n_slots; s < h.n_slots && st == LC_OK; s++) /* a smaller context: the rest was free */
        if (b.pos[s] != -1 || b.tok[s] != -1)
            st = lc_fail(err, LC_ERR_FORMAT, "session %s: slot %lld, past this context's %lld, is not free", path,
                         (long long)s, (long long)c->n_slots);
    if (st != LC_OK) goto done;
    for (int64_t s = h.n_slots; s < c->n_slots; s++) b.pos[s] = -1, b.tok[s] = -1; /* a larger one: free slots */
    if ((st = check_slots(ctx, &h, &b, path, err)) != LC_OK) goto done;
    if ((st = check_states(ctx, &b, path, err)) != LC_OK) goto done;
    if ((st = check_rings(ctx, &h, &b, path, err)) != LC_OK) goto done;
    if (check && (st = check(check_user, b.tokens, h.n_tokens, b.blob, (size_t)h.blob_len, h.n_used, err)) != LC_OK)
        goto done;
    if (b.sampler) { /* the sampler is the only part that can still refuse: apply it first */
        if (!(ss = malloc(sizeof *ss))) st = lc_fail(err, LC_ERR_NOMEM, "session: out of memory");
        else st = lc_sampler_state_decode(b.sampler, LC_SAMPLER_STATE_BYTES, ss, err);
        if (st == LC_OK && sampler) st = lc_sampler_set_state(sampler, ss, err);
        if (st != LC_OK) goto done;
    }

    /* Everything verified: swap the buffers in, hand out history and blob. */
    install(ctx, &h, &b);
    if (info) {
        info->has_sampler = b.sampler != NULL;
        info->n_tokens = h.n_tokens;
        info->blob_len = (size_t)h.blob_len;
        if (h.n_tokens > 0) info->tokens = b.tokens, b.tokens = NULL;
        if (h.blob_len > 0) info->blob = b.blob, b.blob = NULL;
    }
done:
    if (f) fclose(f);
    free(ss);
    body_free(&b);
    return st;
}
