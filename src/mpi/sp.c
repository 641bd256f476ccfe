/*
 * Sequence-parallel attention over MPI: the attention hook of a context
 * keeps the KV rows of the positions this rank owns (blocks of n_batch
 * positions dealt to the ranks zig-zag) and, in decode, combines the ranks'
 * softmax parts with one MPI_Allreduce per layer; lc_sp_prefill evaluates
 * only this rank's blocks of a prompt and passes the shards around a ring
 * (include/longctx/sp.h, docs/distributed.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "eval/eval_internal.h"
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
    int64_t B;                    /* block: n_batch positions                     */
    int64_t slots, slots_max;     /* this rank's shard, the largest shard         */
    int64_t *kpos;                /* [slots] position of each shard row           */
    int64_t *rpos;                /* [slots_max] positions of a shard in hand     */
    int64_t n_held;
    /* ring prefill (lc_sp_prefill) */
    bool ring;                    /* the hook runs the ring, not the allreduce    */
    int64_t ring_end;             /* positions < ring_end are computed this round */
    int32_t ring_layers;          /* layers of the round this rank has passed     */
    bool peer_failed;             /* a ring vote failed for another rank's error  */
    char *rk[2], *rv[2];          /* [slots_max] rows: shards in flight           */
    float *acc_l;                 /* [n_batch, H] log-sum-exp of the accumulator  */
    float *last;                  /* [vocab] the prompt's last logits             */
    MPI_Datatype krow_type, vrow_type, logit_type; /* a K row, a V row, a row of logits */
    lc_attn_params params_sinks;  /* the context's, sinks kept (ring: own shard)  */
    char *k, *v;                  /* [n_layers][slots] rows                       */
    int64_t n_batch;
    float *out, *lse;             /* [n_batch, H, d], [n_batch, H] this rank's part */
    float *rec;                   /* [n_batch, H, d + 2] packed parts             */
    float *rec_peer;              /* [n_batch, H, d + 2] a peer's, in a combine   */
    MPI_Datatype rec_type;
    MPI_Op op;
    lc_attn_params params;        /* the context's; learned sinks on rank 0 only  */
    lc_kernel_opts ko;
    double spin_us;               /* lc_sp_opts.wait_spin_us, resolved           */
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

/* Wait for n requests: poll MPI (which progresses them) for spin_us, then
 * poll with growing sleeps in between, so that a rank waiting for a peer the
 * OS has descheduled gives its core away instead of spinning on it (Open
 * MPI's shared-memory transport only polls). spin_us < 0: MPI_Waitall. */
static int sp_wait(const lc_sp *sp, int n, MPI_Request *rq) {
    if (sp->spin_us < 0) return MPI_Waitall(n, rq, MPI_STATUSES_IGNORE);
    const double t0 = MPI_Wtime();
    long sleep_ns = 10000;
    for (;;) {
        int done = 0;
        const int rc = MPI_Testall(n, rq, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS || done) return rc;
        if ((MPI_Wtime() - t0) * 1e6 < sp->spin_us) continue;
        const struct timespec ts = {0, sleep_ns};
        nanosleep(&ts, NULL);
        if (sleep_ns < 200000) sleep_ns *= 2;
    }
}

/* An in-place allreduce of n elements (type, elem bytes each) by fn, an
 * MPI_User_function applied as in (+) inout with in from the lower ranks:
 * recursive doubling over point-to-point messages (in step k, rank r and r
 * XOR 2^k swap what they hold and both compute lower (+) upper), each wait
 * by sp_wait; P not a power of two: ranks 2i < 2 rem first fold into 2i + 1
 * and get the result back at the end. The operator applies in rank order
 * and every rank ends with the same bits. peer: scratch of n elements.
 * spin_us < 0: MPI_Allreduce with op. */
typedef struct {
    MPI_Datatype type;
    size_t elem;
    MPI_User_function *fn;
    MPI_Op op;
} sp_reduction;

static int rd_allreduce(lc_sp *sp, const sp_reduction *red, void *buf, void *peer_buf, int n) {
    const int P = sp->n_ranks, me = sp->rank;
    if (sp->spin_us < 0) return MPI_Allreduce(MPI_IN_PLACE, buf, n, red->type, red->op, sp->comm);
    const size_t bytes = (size_t)n * red->elem;
    MPI_Datatype t = red->type;
    int p2 = 1, len = n;
    while (p2 * 2 <= P) p2 *= 2;
    const int rem = P - p2;
    int rc = MPI_SUCCESS, v = me - rem; /* v: the rank among the p2 taking part, or -1 */
    MPI_Request rq[2];
    if (me < 2 * rem) {
        if (me % 2 == 0) { /* fold into me + 1, which computes (me) (+) (me + 1) */
            rc = MPI_Isend(buf, n, t, me + 1, 4, sp->comm, &rq[0]);
            if (rc == MPI_SUCCESS) rc = sp_wait(sp, 1, rq);
            sp->st.comm_bytes += (double)bytes;
            v = -1;
        } else {
            rc = MPI_Irecv(peer_buf, n, t, me - 1, 4, sp->comm, &rq[0]);
            if (rc == MPI_SUCCESS) rc = sp_wait(sp, 1, rq);
            if (rc == MPI_SUCCESS) red->fn(peer_buf, buf, &len, &t);
            v = me / 2;
        }
    }
    for (int mask = 1; rc == MPI_SUCCESS && v >= 0 && mask < p2; mask *= 2) {
        const int pv = v ^ mask, peer = pv < rem ? 2 * pv + 1 : pv + rem;
        rc = MPI_Irecv(peer_buf, n, t, peer, 3, sp->comm, &rq[0]);
        if (rc != MPI_SUCCESS) break;
        if ((rc = MPI_Isend(buf, n, t, peer, 3, sp->comm, &rq[1])) != MPI_SUCCESS) {
            MPI_Cancel(&rq[0]);
            MPI_Request_free(&rq[0]);
            break;
        }
        if ((rc = sp_wait(sp, 2, rq)) != MPI_SUCCESS) break;
        sp->st.comm_bytes += (double)bytes;
        if (peer < me) red->fn(peer_buf, buf, &len, &t); /* the peer's part is the lower one */
        else {
            red->fn(buf, peer_buf, &len, &t);
            memcpy(buf, peer_buf, bytes);
        }
    }
    if (rc == MPI_SUCCESS && me < 2 * rem) { /* the folded ranks get the result */
        if (me % 2 == 0) rc = MPI_Irecv(buf, n, t, me + 1, 5, sp->comm, &rq[0]);
        else rc = MPI_Isend(buf, n, t, me - 1, 5, sp->comm, &rq[0]);
        if (rc == MPI_SUCCESS) rc = sp_wait(sp, 1, rq);
        if (me % 2 == 1) sp->st.comm_bytes += (double)bytes;
    }
    return rc;
}

static void max_int(void *in, void *inout, int *len, MPI_Datatype *dt) {
    (void)dt;
    const int *a = in;
    int *b = inout;
    for (int i = 0; i < *len; i++) b[i] = a[i] > b[i] ? a[i] : b[i];
}

/* Every rank learns whether any rank's flag is set (the ring's vote). */
static int vote_any(lc_sp *sp, int flag, int *any) {
    const sp_reduction red = {MPI_INT, sizeof(int), max_int, MPI_MAX};
    int peer = 0;
    *any = flag;
    return rd_allreduce(sp, &red, any, &peer, 1);
}

static void store_row(lc_dtype t, const float *src, char *dst, int64_t n, const lc_kernel_opts *ko) {
    if (t == LC_DTYPE_F32) memcpy(dst, src, (size_t)n * sizeof(float));
    else if (t == LC_DTYPE_F16) lc_kernel_f32_to_f16(src, (uint16_t *)dst, n, ko);
    else lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n);
}

/* The layout: positions in blocks of B; round j holds blocks j*P .. j*P+P-1
 * (positions [j*P*B, (j+1)*P*B)); in an even round rank r takes block r of
 * the round, in an odd one block P-1-r (zig-zag), so over two rounds every
 * rank has the same causal work. */
static int64_t block_of(int P, int64_t j, int r) { return (j % 2 == 0) ? r : P - 1 - r; }

/* Positions < N that rank r owns (= the row of position N when r owns it). */
static int64_t held_by(int P, int64_t B, int r, int64_t N) {
    const int64_t PB = (int64_t)P * B, F = N / PB, rem = N - F * PB;
    return F * B + LC_MAX(0, LC_MIN(rem - block_of(P, F, r) * B, B));
}

/* The position of rank r's shard row i. */
static int64_t row_pos(int P, int64_t B, int r, int64_t i) {
    const int64_t j = i / B;
    return j * (int64_t)P * B + block_of(P, j, r) * B + i % B;
}

static int owner_of(int P, int64_t B, int64_t p) {
    const int64_t PB = (int64_t)P * B, j = p / PB;
    return (int)block_of(P, j, (int)((p - j * PB) / B));
}

/* Store the chunk's rows that this rank owns. */
static void store_owned(lc_sp *sp, const lc_attn_hook_call *c, char *kl, char *vl) {
    const int64_t kvd = (int64_t)sp->n_head_kv * sp->head_dim;
    for (int64_t p = c->pos0; p < c->pos0 + c->n_new; p++) {
        if (owner_of(sp->n_ranks, sp->B, p) != sp->rank) continue;
        const int64_t row = held_by(sp->n_ranks, sp->B, sp->rank, p);
        if (row >= sp->slots) continue; /* eval_at/eval checked p < n_ctx */
        store_row(sp->k_type, c->k + (p - c->pos0) * kvd, kl + (size_t)row * sp->k_row, kvd, &sp->ko);
        store_row(sp->v_type, c->v + (p - c->pos0) * kvd, vl + (size_t)row * sp->v_row, kvd, &sp->ko);
    }
}

/* FLASH of query rows q (n_q at q_pos0) over n_kv rows at positions kpos
 * (ascending), causal; rows before the first visible one get no part.
 * Returns the first row with a part in *first (n_q: none). */
static lc_status attend_rows(lc_sp *sp, const lc_attn_hook_call *c, const lc_attn_params *p, const char *k,
                             const char *v, const int64_t *kpos, int64_t n_kv, int64_t *first, lc_error *err) {
    const int64_t H = sp->n_head, d = sp->head_dim;
    *first = n_kv > 0 ? LC_MAX(0, LC_MIN(kpos[0] - c->q_pos0, c->n_q)) : c->n_q;
    if (*first >= c->n_q) return LC_OK;
    lc_attn_shape s = c->shape;
    s.n_q = c->n_q - *first;
    s.n_kv = n_kv;
    s.q_pos0 = c->q_pos0 + *first;
    s.k_pos = kpos;
    s.causal = true;
    lc_attn_io io = {c->q + *first * H * d, k, v, sp->out + *first * H * d, sp->lse + *first * H};
    return lc_attn_forward(&s, p, &io, c->ws, c->ws_bytes, err);
}

/* Decode (and any eval after the prompt): every rank runs the chunk; each
 * attends over its shard and one allreduce combines the parts. */
static lc_status attend_allreduce(lc_sp *sp, const lc_attn_hook_call *c, lc_error *err) {
    const int64_t H = sp->n_head, d = sp->head_dim, W = d + 2;
    char *kl = sp->k + (size_t)c->layer * (size_t)sp->slots * sp->k_row;
    char *vl = sp->v + (size_t)c->layer * (size_t)sp->slots * sp->v_row;
    store_owned(sp, c, kl, vl);
    const int64_t n_vis = LC_MIN(held_by(sp->n_ranks, sp->B, sp->rank, c->pos0 + c->n_new), sp->slots);
    sp->n_held = n_vis;
    int64_t first = c->n_q;
    const lc_status st = attend_rows(sp, c, &sp->params, kl, vl, sp->kpos, n_vis, &first, err);
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
    const double b0 = sp->st.comm_bytes;
    const sp_reduction red = {sp->rec_type, (size_t)W * sizeof(float), lse_combine, sp->op};
    const int rc = rd_allreduce(sp, &red, sp->rec, sp->rec_peer, n_rec);
    sp->st.t_comm += MPI_Wtime() - t0;
    if (sp->n_ranks > 1) { /* a singleton's allreduce is a copy */
        sp->st.n_allreduce++;
        if (sp->spin_us < 0) sp->st.comm_bytes = b0 + (double)n_rec * (double)W * sizeof(float);
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

/* Merge this rank's part (sp->out, sp->lse, rows first..) into the
 * accumulator (out, sp->acc_l). */
static void merge_into(lc_sp *sp, float *out, int64_t n_q, int64_t first) {
    const int64_t H = sp->n_head, d = sp->head_dim;
    for (int64_t r = first * H; r < n_q * H; r++) {
        const float a = sp->acc_l[r], b = sp->lse[r];
        if (b == -INFINITY) continue;
        float *x = out + r * d;
        const float *y = sp->out + r * d;
        if (a == -INFINITY) {
            memcpy(x, y, (size_t)d * sizeof(float));
            sp->acc_l[r] = b;
            continue;
        }
        const float mx = a > b ? a : b, wa = expf(a - mx), wb = expf(b - mx), inv = 1.0f / (wa + wb);
        for (int64_t i = 0; i < d; i++) x[i] = (wa * x[i] + wb * y[i]) * inv;
        sp->acc_l[r] = mx + logf(wa + wb);
    }
}

/* One layer of a ring round (lc_sp_prefill): store this rank's new rows, then
 * P steps: the shard in hand (step 0: this rank's own, then its left
 * neighbour's, ...) goes on to the right neighbour with MPI_Isend while the
 * next arrives from the left with MPI_Irecv and this rank's queries attend
 * the one in hand (the rows at positions up to the last query only: a shard
 * wholly in the future costs nothing). c: NULL on a rank with no tokens in
 * the round (it only passes the shards on). failed: this rank has failed
 * already. Every rank learns whether any failed. */
static lc_status ring_layer(lc_sp *sp, int32_t layer, const lc_attn_hook_call *c, bool failed, lc_error *err) {
    const int P = sp->n_ranks, me = sp->rank, right = (me + 1) % P, left = (me + P - 1) % P;
    const int64_t H = sp->n_head, d = sp->head_dim;
    char *kl = sp->k + (size_t)layer * (size_t)sp->slots * sp->k_row;
    char *vl = sp->v + (size_t)layer * (size_t)sp->slots * sp->v_row;
    lc_status st = LC_OK;
    if (c) {
        store_owned(sp, c, kl, vl);
        for (int64_t i = 0; i < c->n_q * H; i++) sp->acc_l[i] = -INFINITY;
        memset(c->out, 0, (size_t)(c->n_q * H * d) * sizeof(float));
    }
    const char *ck = kl, *cv = vl;
    int buf = 0, mpi_ok = 1;
    for (int s = 0; s < P; s++) {
        const int src = (me - s + P) % P, nsrc = (src + P - 1) % P;
        const int64_t n_src = held_by(P, sp->B, src, sp->ring_end);
        MPI_Request rq[4];
        int n_rq = 0;
        const double t0 = MPI_Wtime();
        if (s < P - 1) {
            const int n_next = (int)held_by(P, sp->B, nsrc, sp->ring_end);
            mpi_ok &= MPI_Irecv(sp->rk[buf], n_next, sp->krow_type, left, 1, sp->comm, &rq[n_rq++]) == MPI_SUCCESS;
            mpi_ok &= MPI_Irecv(sp->rv[buf], n_next, sp->vrow_type, left, 2, sp->comm, &rq[n_rq++]) == MPI_SUCCESS;
            mpi_ok &= MPI_Isend(ck, (int)n_src, sp->krow_type, right, 1, sp->comm, &rq[n_rq++]) == MPI_SUCCESS;
            mpi_ok &= MPI_Isend(cv, (int)n_src, sp->vrow_type, right, 2, sp->comm, &rq[n_rq++]) == MPI_SUCCESS;
            sp->st.comm_bytes += (double)n_src * (double)(sp->k_row + sp->v_row);
        }
        sp->st.t_comm += MPI_Wtime() - t0;
        if (c && st == LC_OK && c->n_q > 0) {
            /* the rows of src up to this rank's last query */
            const int64_t n_vis = LC_MIN(n_src, held_by(P, sp->B, src, c->q_pos0 + c->n_q));
            if (n_vis > 0) {
                const int64_t *kp = sp->kpos;
                if (s > 0) {
                    for (int64_t i = 0; i < n_vis; i++) sp->rpos[i] = row_pos(P, sp->B, src, i);
                    kp = sp->rpos;
                }
                int64_t first = c->n_q;
                /* learned sinks count once per row: with its own shard */
                st = attend_rows(sp, c, s == 0 ? &sp->params_sinks : &sp->params, ck, cv, kp, n_vis, &first, err);
                if (st == LC_OK) merge_into(sp, c->out, c->n_q, first);
            }
        }
        const double t1 = MPI_Wtime();
        if (n_rq) mpi_ok &= sp_wait(sp, n_rq, rq) == MPI_SUCCESS;
        sp->st.t_comm += MPI_Wtime() - t1;
        if (s < P - 1) {
            ck = sp->rk[buf];
            cv = sp->rv[buf];
            buf ^= 1;
        }
    }
    int any = 1;
    if (vote_any(sp, failed || st != LC_OK || !mpi_ok, &any) != MPI_SUCCESS) any = 1;
    sp->ring_layers = layer + 1;
    if (st != LC_OK) return st;
    if (!mpi_ok) return lc_fail(err, LC_ERR_IO, "sp: a ring transfer failed (layer %d)", (int)layer);
    if (failed) return lc_fail(err, LC_ERR_IO, "sp: this rank failed before layer %d", (int)layer);
    if (any) {
        sp->peer_failed = true;
        return lc_fail(err, LC_ERR_IO, "sp: attention failed on another rank (layer %d)", (int)layer);
    }
    if (c)
        for (int64_t i = 0; i < c->n_q * H; i++)
            if (sp->acc_l[i] == -INFINITY) /* cannot happen: a query sees its own key */
                return lc_fail(err, LC_ERR_INTERNAL, "sp: a query row saw no key (layer %d)", (int)layer);
    return LC_OK;
}

static lc_status attend(void *user, const lc_attn_hook_call *c, lc_error *err) {
    lc_sp *sp = user;
    if (c->layer < 0 || c->layer >= sp->n_layers || c->n_q > sp->n_batch || c->n_q < 0 || c->n_new > sp->n_batch)
        return lc_fail(err, LC_ERR_INVALID_ARG, "sp: layer %d / %lld queries outside the shard's shape", (int)c->layer,
                       (long long)c->n_q);
    return sp->ring ? ring_layer(sp, c->layer, c, false, err) : attend_allreduce(sp, c, err);
}


/* The log-probabilities of the tokens after rows [a, b) of a block (logits
 * lg [b - a, V]) into lp (index = position - S), and the last row's logits. */
static void score_block(lc_sp *sp, const float *lg, const int32_t *tokens, int64_t n, int64_t S, int64_t a, int64_t b,
                        int64_t V, float *lp) {
    for (int64_t p = a; p < b; p++) {
        const int64_t t = p - S;
        if (t + 1 < n) /* (a token outside the vocabulary fails on its owner's block) */
            lp[t + 1] = tokens[t + 1] >= 0 && tokens[t + 1] < V ? (float)lc_eval_log_prob(lg + (p - a) * V, V, tokens[t + 1]) : NAN;
        else memcpy(sp->last, lg + (p - a) * V, (size_t)V * sizeof(float));
    }
}

/* lc_sp_prefill, or with lp (and not logits) lc_sp_prefill_logprobs. */
static lc_status prefill(lc_sp *sp, const int32_t *tokens, int64_t n, float *logits, bool all, float *lp,
                         lc_error *err) {
    lc_error mine;
    lc_status st = LC_OK;
    lc_context *ctx = sp ? sp->ctx : NULL;
    if (!sp || !ctx || !tokens || n < 1 || (all && !logits))
        return lc_fail(err, LC_ERR_INVALID_ARG, "sp prefill: no tokens (or all logits without a buffer)");
    const int P = sp->n_ranks;
    const int64_t S = lc_context_n_past(ctx), V = lc_context_model(ctx)->cfg.vocab_size, PB = (int64_t)P * sp->B;
    if (n > lc_context_n_ctx(ctx) - S)
        return lc_fail(err, LC_ERR_TOO_LARGE, "context full: %lld tokens; raise -c (%lld held, %lld more requested)",
                       (long long)lc_context_n_ctx(ctx), (long long)S, (long long)n);
    float *blk = NULL; /* lp: this rank's block of logits, [B, V] */
    if (lp) {
        const float *prev = S > 0 ? lc_context_logits(ctx) : NULL;
        lp[0] = prev && tokens[0] >= 0 && tokens[0] < V ? (float)lc_eval_log_prob(prev, V, tokens[0]) : NAN;
        for (int64_t i = 1; i < n; i++) lp[i] = 0.0f;
        size_t cells = 0;
        if (!lc_mul_size((size_t)sp->B, (size_t)V, &cells) || !(blk = malloc(cells * sizeof(float))))
            st = lc_fail(&mine, LC_ERR_NOMEM, "sp: cannot allocate a block of logits (%lld x %lld)", (long long)sp->B,
                         (long long)V);
    }
    sp->ring = true;
    sp->peer_failed = false;
    for (int64_t j = S / PB; j <= (S + n - 1) / PB; j++) {
        sp->ring_end = LC_MIN((j + 1) * PB, S + n);
        sp->ring_layers = 0;
        const int64_t b0 = j * PB + block_of(P, j, sp->rank) * sp->B;
        const int64_t a = LC_MAX(b0, S), b = LC_MIN(b0 + sp->B, S + n);
        lc_status rs = LC_OK;
        if (b > a && st == LC_OK) {
            float *lg = lp ? blk : all ? logits + (a - S) * V : b == S + n ? sp->last : NULL;
            rs = lc_context_eval_at(ctx, tokens + (a - S), b - a, a, lg, all || lp, &mine);
            if (rs == LC_OK && lp) score_block(sp, blk, tokens, n, S, a, b, V, lp);
        }
        /* a rank with no tokens this round, or whose forward pass stopped
         * before the last layer, still passes the shards on (and votes) */
        if (rs != LC_OK) st = rs;
        for (int32_t l = sp->ring_layers; l < sp->n_layers; l++) {
            lc_error relay_err;
            const lc_status ls = ring_layer(sp, l, NULL, st != LC_OK, &relay_err);
            if (ls != LC_OK && st == LC_OK) {
                st = ls;
                mine = relay_err;
            }
        }
        if (st != LC_OK) break; /* the vote told every rank in the same layer */
    }
    sp->ring = false;
    free(blk);
    if (st == LC_OK && lp && n > 1 && /* each row's log-probability from its owner, zeros elsewhere */
        MPI_Allreduce(MPI_IN_PLACE, lp + 1, (int)(n - 1), MPI_FLOAT, MPI_SUM, sp->comm) != MPI_SUCCESS)
        st = lc_fail(&mine, LC_ERR_IO, "sp: MPI_Allreduce of log-probabilities failed");
    if (st == LC_OK) { /* logits from the ranks that computed them */
        if (all) {
            for (int64_t j = S / PB; j <= (S + n - 1) / PB && st == LC_OK; j++)
                for (int r = 0; r < P; r++) {
                    const int64_t b0 = j * PB + block_of(P, j, r) * sp->B;
                    const int64_t a = LC_MAX(b0, S), b = LC_MIN(b0 + sp->B, S + n);
                    if (b > a && MPI_Bcast(logits + (a - S) * V, (int)(b - a), sp->logit_type, r, sp->comm) != MPI_SUCCESS)
                        st = lc_fail(&mine, LC_ERR_IO, "sp: MPI_Bcast of logits failed");
                }
            if (st == LC_OK) memcpy(sp->last, logits + (n - 1) * V, (size_t)V * sizeof(float));
        } else {
            if (MPI_Bcast(sp->last, (int)V, MPI_FLOAT, owner_of(P, sp->B, S + n - 1), sp->comm) != MPI_SUCCESS)
                st = lc_fail(&mine, LC_ERR_IO, "sp: MPI_Bcast of logits failed");
            else if (logits) memcpy(logits, sp->last, (size_t)V * sizeof(float));
        }
    }
    if (st == LC_OK) st = lc_context_append_evaluated(ctx, tokens, n, sp->last, &mine);
    /* the message of the rank whose own error it was, not of those that
     * learned it from a vote */
    const lc_status own = sp->peer_failed ? LC_OK : st;
    lc_status agreed = lc_sp_agree(sp->comm, own, &mine, err);
    if (agreed == LC_OK) agreed = lc_sp_agree(sp->comm, st, &mine, err); /* (every rank or none) */
    st = agreed;
    if (st == LC_OK) sp->n_held = LC_MIN(held_by(P, sp->B, sp->rank, S + n), sp->slots);
    return st;
}

lc_status lc_sp_prefill(lc_sp *sp, const int32_t *tokens, int64_t n, float *logits, bool all, lc_error *err) {
    return prefill(sp, tokens, n, logits, all, NULL, err);
}

lc_status lc_sp_prefill_fn(void *user, lc_context *ctx, const int32_t *ids, int64_t n, lc_error *err) {
    lc_sp *sp = user;
    if (!sp || lc_sp_context(sp) != ctx) return lc_fail(err, LC_ERR_INVALID_ARG, "sp prefill: not the sharded context");
    return lc_sp_prefill(sp, ids, n, NULL, false, err);
}

lc_status lc_sp_prefill_logprobs(lc_sp *sp, const int32_t *tokens, int64_t n, float *lp, lc_error *err) {
    if (!lp) return lc_fail(err, LC_ERR_INVALID_ARG, "sp prefill: no output for the log-probabilities");
    if (n > INT32_MAX) return lc_fail(err, LC_ERR_TOO_LARGE, "sp prefill: %lld tokens in one call", (long long)n);
    return prefill(sp, tokens, n, NULL, false, lp, err);
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
    if (sp->krow_type != MPI_DATATYPE_NULL) MPI_Type_free(&sp->krow_type);
    if (sp->vrow_type != MPI_DATATYPE_NULL) MPI_Type_free(&sp->vrow_type);
    if (sp->logit_type != MPI_DATATYPE_NULL) MPI_Type_free(&sp->logit_type);
    free(sp->kpos);
    free(sp->rpos);
    for (int i = 0; i < 2; i++) {
        free(sp->rk[i]);
        free(sp->rv[i]);
    }
    free(sp->acc_l);
    free(sp->last);
    free(sp->k);
    free(sp->v);
    free(sp->out);
    free(sp->lse);
    free(sp->rec);
    free(sp->rec_peer);
    free(sp);
}

/* The largest shard of n_ctx positions over P ranks: the rank taking block 0
 * of the last, partial round. */
static int64_t max_slots(int P, int64_t B, int64_t n_ctx) {
    const int64_t PB = (int64_t)P * B;
    return n_ctx / PB * B + LC_MIN(n_ctx % PB, B);
}

static lc_status check_budget(const lc_sp *sp, int64_t n_ctx, size_t budget, lc_error *err) {
    const double row = (double)(sp->k_row + sp->v_row) * sp->n_layers;
    const double need = row * (double)sp->slots_max;
    if (budget == 0 || need <= (double)budget) return LC_OK;
    int enough = 0;
    for (int p = sp->n_ranks + 1; p <= (1 << 20) && !enough; p++)
        if (row * (double)max_slots(p, sp->B, n_ctx) <= (double)budget) enough = p;
    char a[32], b[32], c[32], e[64] = "no number of ranks is enough: lower -c or the KV types";
    if (enough) snprintf(e, sizeof e, "it takes %d ranks", enough);
    return lc_fail(err, LC_ERR_TOO_LARGE,
                   "sp: a context of %lld tokens needs %s of KV in all; over %d rank%s a shard holds up to %lld "
                   "positions, %s, more than --kv-budget %s: %s",
                   (long long)n_ctx, lc_format_bytes(row * (double)n_ctx, a, sizeof a), sp->n_ranks,
                   sp->n_ranks == 1 ? "" : "s", (long long)sp->slots_max, lc_format_bytes(need, b, sizeof b),
                   lc_format_bytes((double)budget, c, sizeof c), e);
}

static lc_status create_local(lc_context *ctx, MPI_Comm comm, size_t budget, lc_sp *sp, lc_error *err) {
    const lc_model *m = lc_context_model(ctx);
    if (!(sp->spin_us == sp->spin_us)) sp->spin_us = 0;
    if (sp->spin_us == 0) sp->spin_us = 1000;
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
    sp->params_sinks = sp->params;
    if (sp->rank != 0) sp->params.sink_logits = NULL; /* a learned sink counts once per row */
    lc_kernel_opts_init(&sp->ko);
    sp->ko.n_threads = lc_context_n_threads(ctx);
    const int64_t kvd = (int64_t)sp->n_head_kv * sp->head_dim, n_ctx = lc_context_n_ctx(ctx);
    lc_status st;
    if ((st = lc_dtype_row_bytes(sp->k_type, kvd, &sp->k_row, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(sp->v_type, kvd, &sp->v_row, err)) != LC_OK)
        return st;
    sp->n_batch = lc_context_n_batch(ctx);
    sp->B = sp->n_batch;
    sp->slots = held_by(sp->n_ranks, sp->B, sp->rank, n_ctx);
    for (int r = 0; r < sp->n_ranks; r++) sp->slots_max = LC_MAX(sp->slots_max, held_by(sp->n_ranks, sp->B, r, n_ctx));
    if (sp->slots_max > INT32_MAX)
        return lc_fail(err, LC_ERR_TOO_LARGE, "sp: a shard of %lld positions exceeds what one MPI message counts",
                       (long long)sp->slots_max);
    if ((st = check_budget(sp, n_ctx, budget, err)) != LC_OK) return st;
    const size_t row = sp->k_row + sp->v_row, per_layer = (size_t)sp->slots * row;
    if (sp->slots > 0 && (per_layer / (size_t)sp->slots != row || per_layer * (size_t)sp->n_layers / (size_t)sp->n_layers != per_layer))
        return lc_fail(err, LC_ERR_TOO_LARGE, "sp: shard size overflows");
    sp->st.kv_bytes = per_layer * (size_t)sp->n_layers;
    const size_t H = (size_t)sp->n_head, d = (size_t)sp->head_dim, nb = (size_t)sp->n_batch;
    const size_t sm = (size_t)LC_MAX(1, sp->slots_max), V = (size_t)lc_context_model(ctx)->cfg.vocab_size;
    sp->k = malloc(LC_MAX((size_t)1, (size_t)sp->slots * sp->k_row * (size_t)sp->n_layers));
    sp->v = malloc(LC_MAX((size_t)1, (size_t)sp->slots * sp->v_row * (size_t)sp->n_layers));
    sp->kpos = malloc((size_t)LC_MAX(1, sp->slots) * sizeof(int64_t));
    sp->rpos = malloc(sm * sizeof(int64_t));
    sp->out = malloc(nb * H * d * sizeof(float));
    sp->lse = malloc(nb * H * sizeof(float));
    sp->acc_l = malloc(nb * H * sizeof(float));
    sp->rec = malloc(nb * H * (d + 2) * sizeof(float));
    sp->rec_peer = malloc(nb * H * (d + 2) * sizeof(float));
    sp->last = malloc(V * sizeof(float));
    bool ok = sp->k && sp->v && sp->kpos && sp->rpos && sp->out && sp->lse && sp->acc_l && sp->rec && sp->rec_peer &&
              sp->last;
    for (int i = 0; i < 2 && sp->n_ranks > 1; i++) { /* the ring's two shards in flight */
        ok = ok && (sp->rk[i] = malloc(sm * sp->k_row)) && (sp->rv[i] = malloc(sm * sp->v_row));
    }
    if (!ok)
        return lc_fail(err, LC_ERR_NOMEM, "sp: cannot allocate the shard (%zu bytes of K/V)", sp->st.kv_bytes);
    for (int64_t i = 0; i < sp->slots; i++) sp->kpos[i] = row_pos(sp->n_ranks, sp->B, sp->rank, i);
    if (MPI_Type_contiguous((int)sp->k_row, MPI_BYTE, &sp->krow_type) != MPI_SUCCESS ||
        MPI_Type_commit(&sp->krow_type) != MPI_SUCCESS ||
        MPI_Type_contiguous((int)sp->v_row, MPI_BYTE, &sp->vrow_type) != MPI_SUCCESS ||
        MPI_Type_commit(&sp->vrow_type) != MPI_SUCCESS || MPI_Type_contiguous((int)V, MPI_FLOAT, &sp->logit_type) != MPI_SUCCESS ||
        MPI_Type_commit(&sp->logit_type) != MPI_SUCCESS)
        return lc_fail(err, LC_ERR_IO, "sp: cannot make the MPI row types");
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
    sp->st.block = sp->B;
    sp->st.shard_slots = sp->slots;
    return LC_OK;
}

lc_status lc_sp_create(lc_context *ctx, MPI_Comm comm, lc_sp **out, lc_error *err) {
    return lc_sp_create_opts(ctx, comm, NULL, out, err);
}

lc_status lc_sp_create_opts(lc_context *ctx, MPI_Comm comm, const lc_sp_opts *o, lc_sp **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "sp: no output");
    *out = NULL;
    lc_sp *sp = calloc(1, sizeof *sp);
    lc_error mine;
    lc_status st;
    if (!sp) st = lc_fail(&mine, LC_ERR_NOMEM, "sp: out of memory");
    else if (!ctx) st = lc_fail(&mine, LC_ERR_INVALID_ARG, "sp: no context");
    else {
        sp->rec_type = sp->krow_type = sp->vrow_type = sp->logit_type = MPI_DATATYPE_NULL;
        sp->op = MPI_OP_NULL;
        sp->spin_us = o ? o->wait_spin_us : 0;
        st = create_local(ctx, comm, o ? o->kv_budget : 0, sp, &mine);
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

void lc_sp_stats_print(FILE *f, const lc_sp_stats *st, int64_t n_tokens) {
    fprintf(f,
            "sp: rank %d of %d: %lld slots (zig-zag blocks of %lld) hold %lld, KV %.2f MiB, %.0f bytes sent, %lld "
            "allreduces (%.0f bytes per token), %.3f s communicating\n",
            st->rank, st->n_ranks, (long long)st->shard_slots, (long long)st->block, (long long)st->n_held,
            (double)st->kv_bytes / 1048576.0, st->comm_bytes, (long long)st->n_allreduce,
            n_tokens > 0 ? st->comm_bytes / (double)n_tokens : 0.0, st->t_comm);
}

lc_context *lc_sp_context(const lc_sp *sp) { return sp ? sp->ctx : NULL; }

MPI_Comm lc_sp_comm(const lc_sp *sp) { return sp ? sp->comm : MPI_COMM_NULL; }

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
    /* the combine (rd_allreduce): log2 p2 exchanges of one record set
     * among the largest power of two p2 <= P ranks; with P - p2 = rem > 0,
     * one more message before (the fold) and one after (the result back) */
    int p2 = 1, lg = 0;
    while (n_ranks > 0 && p2 * 2 <= n_ranks) p2 *= 2, lg++;
    const int rem = n_ranks - p2;
    out->bytes_per_token = (double)n_layers * rec * (lg + (rem > 0 ? 1 : 0));
    out->seconds_per_token = (double)n_layers * (lg + (rem > 0 ? 2 : 0)) *
                             (latency_us * 1e-6 + rec * 8.0 / (bandwidth_gbit * 1e9));
    out->kv_bytes_per_rank = ceil((double)n_ctx / n_ranks) * 2.0 * (double)n_layers * n_kv_heads * head_dim *
                             kv_bytes_per_elem;
}
