/*
 * Sequence-parallel attention over MPI: the attention hook of a context
 * keeps a contiguous shard of the KV positions and combines the ranks'
 * softmax parts with one MPI_Allreduce per layer (include/longctx/sp.h,
 * docs/distributed.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/model.h"
#include "longctx/sp.h"

struct lc_sp {
    lc_context *ctx;
    MPI_Comm comm;
    int rank, n_ranks;
    int32_t n_layers, n_head, n_head_kv, head_dim;
    lc_dtype k_type, v_type;
    size_t k_row, v_row;          /* bytes of one position's K / V (all heads) */
    int64_t begin, slots;         /* the shard: positions begin .. begin+slots-1 */
    int64_t n_held;
    char *k, *v;                  /* [n_layers][slots] rows                       */
    int64_t n_batch;
    float *out, *lse;             /* [n_batch, H, d], [n_batch, H] this rank's part */
    float *rec;                   /* [n_batch, H, d + 2] packed parts             */
    MPI_Datatype rec_type;
    MPI_Op op;
    lc_attn_params params;        /* the context's; learned sinks on rank 0 only  */
    lc_kernel_opts ko;
    lc_sp_stats st;
};

/* The log-sum-exp reduction: records [m, s, w[d]] meaning the part
 * sum_j e^(x_j - m) v_j = w with sum_j e^(x_j - m) = s; inout <- in (+) inout.
 * An empty part has m = -inf, s = 0, w = 0. A NaN s (a rank that failed)
 * propagates. */
static void lse_combine(void *in, void *inout, int *len, MPI_Datatype *dt) {
    int size = 0;
    MPI_Type_size(*dt, &size);
    const int w = size / (int)sizeof(float), d = w - 2;
    const float *a = in;
    float *b = inout;
    for (int r = 0; r < *len; r++, a += w, b += w) {
        const float ma = a[0], mb = b[0];
        if (ma == -INFINITY && mb == -INFINITY) {
            b[1] += a[1];
            continue;
        }
        const float m = ma > mb ? ma : mb;
        const float ea = ma == -INFINITY ? 0.0f : expf(ma - m), eb = mb == -INFINITY ? 0.0f : expf(mb - m);
        b[0] = m;
        b[1] = a[1] * ea + b[1] * eb;
        for (int i = 0; i < d; i++) b[2 + i] = a[2 + i] * ea + b[2 + i] * eb;
    }
}

static void store_row(lc_dtype t, const float *src, char *dst, int64_t n, const lc_kernel_opts *ko) {
    if (t == LC_DTYPE_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else if (t == LC_DTYPE_F16) lc_kernel_f32_to_f16(src, (uint16_t *)dst, n, ko);
    else lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n);
}

static lc_status attend(void *user, const lc_attn_hook_call *c, lc_error *err) {
    lc_sp *sp = user;
    const int64_t kvd = (int64_t)sp->n_head_kv * sp->head_dim, H = sp->n_head, d = sp->head_dim, W = d + 2;
    if (c->layer < 0 || c->layer >= sp->n_layers || c->n_q > sp->n_batch || c->n_q < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sp: layer %d / %lld queries outside the shard's shape", (int)c->layer,
                       (long long)c->n_q);
    /* store the chunk's rows that fall in the shard */
    char *kl = sp->k + (size_t)c->layer * (size_t)sp->slots * sp->k_row;
    char *vl = sp->v + (size_t)c->layer * (size_t)sp->slots * sp->v_row;
    const int64_t lo = LC_MAX(c->pos0, sp->begin), hi = LC_MIN(c->pos0 + c->n_new, sp->begin + sp->slots);
    for (int64_t p = lo; p < hi; p++) {
        store_row(sp->k_type, c->k + (p - c->pos0) * kvd, kl + (size_t)(p - sp->begin) * sp->k_row, kvd, &sp->ko);
        store_row(sp->v_type, c->v + (p - c->pos0) * kvd, vl + (size_t)(p - sp->begin) * sp->v_row, kvd, &sp->ko);
    }
    const int64_t n_vis = LC_MAX(0, LC_MIN(c->pos0 + c->n_new - sp->begin, sp->slots));
    sp->n_held = n_vis;
    /* this rank's part: query rows first.. see at least one key here */
    const int64_t first = n_vis > 0 ? LC_MAX(0, LC_MIN(sp->begin - c->q_pos0, c->n_q)) : c->n_q;
    lc_status st = LC_OK;
    if (first < c->n_q) {
        lc_attn_shape s = c->shape;
        s.n_q = c->n_q - first;
        s.n_kv = n_vis;
        s.q_pos0 = c->q_pos0 + first - sp->begin; /* positions relative to the shard: same mask */
        s.k_pos = NULL;
        s.causal = true;
        lc_attn_io io = {c->q + first * H * d, kl, vl, sp->out + first * H * d, sp->lse + first * H};
        st = lc_attn_forward(&s, &sp->params, &io, c->ws, c->ws_bytes, err);
    }
    for (int64_t r = 0; r < c->n_q; r++)
        for (int64_t h = 0; h < H; h++) {
            float *rec = sp->rec + (r * H + h) * W;
            const float l = r >= first ? sp->lse[r * H + h] : -INFINITY;
            if (st != LC_OK || l == -INFINITY) {
                rec[0] = -INFINITY;
                rec[1] = st != LC_OK ? NAN : 0.0f;
                memset(rec + 2, 0, (size_t)d * sizeof(float));
            } else {
                rec[0] = l;
                rec[1] = 1.0f;
                memcpy(rec + 2, sp->out + (r * H + h) * d, (size_t)d * sizeof(float));
            }
        }
    const double t0 = MPI_Wtime();
    const int n_rec = (int)(c->n_q * H);
    const int rc = MPI_Allreduce(MPI_IN_PLACE, sp->rec, n_rec, sp->rec_type, sp->op, sp->comm);
    sp->st.t_comm += MPI_Wtime() - t0;
    if (sp->n_ranks > 1) { /* a singleton's allreduce is a copy */
        sp->st.n_allreduce++;
        sp->st.comm_bytes += (double)n_rec * (double)W * sizeof(float);
    }
    if (st != LC_OK) return st;
    if (rc != MPI_SUCCESS) return lc_fail(err, LC_ERR_IO, "sp: MPI_Allreduce failed (%d)", rc);
    for (int64_t r = 0; r < c->n_q; r++)
        for (int64_t h = 0; h < H; h++) {
            const float *rec = sp->rec + (r * H + h) * W;
            float *o = c->out + (r * H + h) * d;
            if (!(rec[1] == rec[1]))
                return lc_fail(err, LC_ERR_IO, "sp: attention failed on another rank (layer %d)", (int)c->layer);
            const float inv = rec[1] > 0.0f ? 1.0f / rec[1] : 0.0f;
            for (int64_t i = 0; i < d; i++) o[i] = rec[2 + i] * inv;
        }
    return LC_OK;
}

lc_status lc_sp_agree(MPI_Comm comm, lc_status st, const lc_error *mine, lc_error *err) {
    int rank = 0, n = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    int who = st != LC_OK ? rank : n, first = n;
    MPI_Allreduce(&who, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == n) return LC_OK;
    int code = (int)st;
    char msg[sizeof(err->msg)];
    memset(msg, 0, sizeof msg);
    if (rank == first && mine) snprintf(msg, sizeof msg, "%s", mine->msg);
    MPI_Bcast(&code, 1, MPI_INT, first, comm);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, comm);
    return lc_fail(err, code != LC_OK ? (lc_status)code : LC_ERR_IO, "rank %d: %s", first, msg);
}

void lc_sp_free(lc_sp *sp) {
    if (!sp) return;
    if (sp->ctx) lc_context_set_attn_hook(sp->ctx, NULL, NULL, NULL);
    if (sp->op != MPI_OP_NULL) MPI_Op_free(&sp->op);
    if (sp->rec_type != MPI_DATATYPE_NULL) MPI_Type_free(&sp->rec_type);
    free(sp->k);
    free(sp->v);
    free(sp->out);
    free(sp->lse);
    free(sp->rec);
    free(sp);
}

static lc_status create_local(lc_context *ctx, MPI_Comm comm, lc_sp *sp, lc_error *err) {
    const lc_model *m = lc_context_model(ctx);
    sp->ctx = NULL;
    sp->comm = comm;
    MPI_Comm_rank(comm, &sp->rank);
    MPI_Comm_size(comm, &sp->n_ranks);
    sp->n_layers = m->cfg.n_layers;
    sp->n_head = m->cfg.n_heads;
    sp->n_head_kv = m->cfg.n_kv_heads;
    sp->head_dim = m->cfg.head_dim;
    sp->k_type = lc_context_k_type(ctx);
    sp->v_type = lc_context_v_type(ctx);
    sp->params = *lc_context_attn(ctx);
    if (sp->rank != 0) sp->params.sink_logits = NULL; /* a learned sink counts once per row */
    lc_kernel_opts_init(&sp->ko);
    sp->ko.n_threads = lc_context_n_threads(ctx);
    const int64_t kvd = (int64_t)sp->n_head_kv * sp->head_dim, n_ctx = lc_context_n_ctx(ctx);
    lc_status st;
    if ((st = lc_dtype_row_bytes(sp->k_type, kvd, &sp->k_row, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(sp->v_type, kvd, &sp->v_row, err)) != LC_OK)
        return st;
    const int64_t C = (n_ctx + sp->n_ranks - 1) / sp->n_ranks;
    sp->begin = LC_MIN((int64_t)sp->rank * C, n_ctx);
    sp->slots = LC_MIN(C, n_ctx - sp->begin);
    sp->n_batch = lc_context_n_batch(ctx);
    const size_t per_layer = (size_t)sp->slots * (sp->k_row + sp->v_row);
    if (sp->slots > 0 && per_layer / (size_t)sp->slots != sp->k_row + sp->v_row)
        return lc_fail(err, LC_ERR_TOO_LARGE, "sp: shard size overflows");
    sp->st.kv_bytes = per_layer * (size_t)sp->n_layers;
    const size_t H = (size_t)sp->n_head, d = (size_t)sp->head_dim, nb = (size_t)sp->n_batch;
    sp->k = malloc(LC_MAX((size_t)1, (size_t)sp->slots * sp->k_row * (size_t)sp->n_layers));
    sp->v = malloc(LC_MAX((size_t)1, (size_t)sp->slots * sp->v_row * (size_t)sp->n_layers));
    sp->out = malloc(nb * H * d * sizeof(float));
    sp->lse = malloc(nb * H * sizeof(float));
    sp->rec = malloc(nb * H * (d + 2) * sizeof(float));
    if (!sp->k || !sp->v || !sp->out || !sp->lse || !sp->rec)
        return lc_fail(err, LC_ERR_NOMEM, "sp: cannot allocate the shard (%zu bytes of K/V)", sp->st.kv_bytes);
    if (MPI_Type_contiguous((int)(d + 2), MPI_FLOAT, &sp->rec_type) != MPI_SUCCESS ||
        MPI_Type_commit(&sp->rec_type) != MPI_SUCCESS)
        return lc_fail(err, LC_ERR_IO, "sp: cannot make the MPI record type");
    /* not commutative: MPI then combines in rank order, the same on every rank */
    if (MPI_Op_create(lse_combine, 0, &sp->op) != MPI_SUCCESS)
        return lc_fail(err, LC_ERR_IO, "sp: cannot make the MPI log-sum-exp operator");
    if ((st = lc_context_set_attn_hook(ctx, attend, sp, err)) != LC_OK) return st;
    sp->ctx = ctx;
    lc_context_reset(ctx);
    sp->st.rank = sp->rank;
    sp->st.n_ranks = sp->n_ranks;
    sp->st.shard_begin = sp->begin;
    sp->st.shard_slots = sp->slots;
    return LC_OK;
}

lc_status lc_sp_create(lc_context *ctx, MPI_Comm comm, lc_sp **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "sp: no output");
    *out = NULL;
    lc_sp *sp = calloc(1, sizeof *sp);
    lc_error mine;
    lc_status st;
    if (!sp) st = lc_fail(&mine, LC_ERR_NOMEM, "sp: out of memory");
    else if (!ctx) st = lc_fail(&mine, LC_ERR_INVALID_ARG, "sp: no context");
    else {
        sp->rec_type = MPI_DATATYPE_NULL;
        sp->op = MPI_OP_NULL;
        st = create_local(ctx, comm, sp, &mine);
    }
    st = lc_sp_agree(comm, st, &mine, err);
    if (st != LC_OK) {
        lc_sp_free(sp);
        return st;
    }
    *out = sp;
    return LC_OK;
}

void lc_sp_get_stats(const lc_sp *sp, lc_sp_stats *st) {
    *st = sp->st;
    st->n_held = sp->n_held;
}

void lc_sp_reset_stats(lc_sp *sp) {
    sp->st.comm_bytes = 0;
    sp->st.n_allreduce = 0;
    sp->st.t_comm = 0;
}

bool lc_sp_sample(void *user, float *logits, int32_t n_vocab, int32_t *token, lc_error *err) {
    const lc_sp_sampler *s = user;
    int rank = 0;
    MPI_Comm_rank(s->comm, &rank);
    int32_t msg[2] = {1, 0}; /* ok, token */
    char why[sizeof(err->msg)];
    memset(why, 0, sizeof why);
    if (rank == 0) {
        if (s->inner) {
            msg[0] = s->inner(s->inner_user, logits, n_vocab, &msg[1], err) ? 1 : 0;
            if (!msg[0]) snprintf(why, sizeof why, "%s", err->msg);
        } else {
            for (int32_t i = 1; i < n_vocab; i++)
                if (logits[i] > logits[msg[1]]) msg[1] = i;
        }
    }
    MPI_Bcast(msg, 2, MPI_INT32_T, 0, s->comm);
    if (!msg[0]) {
        MPI_Bcast(why, (int)sizeof why, MPI_CHAR, 0, s->comm);
        if (rank != 0) lc_fail(err, LC_ERR_INVALID_ARG, "rank 0: %s", why);
        return false;
    }
    *token = msg[1];
    return true;
}

void lc_sp_analytic(int32_t n_layers, int32_t n_heads, int32_t n_kv_heads, int32_t head_dim, double kv_bytes_per_elem,
                    int64_t n_ctx, int n_ranks, double bandwidth_gbit, double latency_us, lc_sp_model *out) {
    const double rec = (double)n_heads * (head_dim + 2) * sizeof(float);
    out->bytes_per_token = n_ranks > 1 ? (double)n_layers * rec : 0.0;
    const double steps = n_ranks > 1 ? 2.0 * ceil(log2((double)n_ranks)) : 0.0;
    /* a tree allreduce: up and down the tree, each step one record set */
    out->seconds_per_token =
        (double)n_layers * steps * (latency_us * 1e-6 + rec * 8.0 / (bandwidth_gbit * 1e9));
    out->kv_bytes_per_rank = ceil((double)n_ctx / n_ranks) * 2.0 * (double)n_layers * n_kv_heads * head_dim *
                             kv_bytes_per_elem;
}
