/*
 * Internal: the trainer object and the pieces its files share
 * (params.c, acts.c, model_train.c, adamw.c, trainer.c, checkpoint.c).
 */
#ifndef LC_TRAIN_TRAINER_INTERNAL_H
#define LC_TRAIN_TRAINER_INTERNAL_H

#include "common/util.h"
#include "longctx/attn.h"
#include "longctx/rope.h"
#include "longctx/train.h"
#include "train/layers.h"

/* Tensor indices of one layer in the size table (tensors[] order). */
enum { LT_ATTN_NORM, LT_WQ, LT_WK, LT_WV, LT_WO, LT_FFN_NORM, LT_GATE, LT_UP, LT_DOWN, LT_COUNT };

/* Bump allocator over one slab: a first pass with base NULL sizes it. */
typedef struct {
    char *base;
    size_t off;
    bool overflow;
} lc_tr_carver;

/* n = a*b*c floats (64-byte aligned); NULL while sizing or on overflow. */
float *lc_tr_carve(lc_tr_carver *cv, size_t a, size_t b, size_t c);

/* Activations of one layer for a (B, T) batch; shapes in comments. */
typedef struct {
    float *ln1;      /* (B, T, C)       RMSNorm of the layer input              */
    float *rstd1;    /* (B, T)                                                 */
    float *q;        /* (B, T, NH, hd)  after RoPE                              */
    float *k;        /* (B, T, KV, hd)  after RoPE                              */
    float *v;        /* (B, T, KV, hd)                                          */
    float *att;      /* (B, T, NH, hd)  attention output                        */
    float *att_aux;  /* flash: lse (B, T, NH); naive: P (B, NH, T, T);
                        linear: normaliser (B, T, NH)                          */
    float *res_mid;  /* (B, T, C)       x + W_o att                             */
    float *ln2;      /* (B, T, C)                                               */
    float *rstd2;    /* (B, T)                                                  */
    float *gate;     /* (B, T, HD)                                              */
    float *up;       /* (B, T, HD)                                              */
    float *hid;      /* (B, T, HD)      silu(gate) * up                         */
} lc_tr_layer_acts;

typedef struct {
    float **res;           /* [L+1] (B, T, C): res[0] embeddings, res[l+1] layer l out */
    lc_tr_layer_acts *layer;   /* [L]                                               */
    float *lnf;            /* (B, T, C)                                             */
    float *rstdf;          /* (B, T)                                                */
    float *logits;         /* (B, T, V)  becomes dlogits in the backward            */
    float *losses;         /* (B, T)                                                */
    int32_t *inputs;       /* (B, T)                                                */
    int32_t *targets;      /* (B, T)                                                */
    float *weights;        /* (B, T)                                                */
    /* gradient scratch shared by the layers */
    float *dres;           /* (B, T, C)                                             */
    float *dln;            /* (B, T, C)                                             */
    float *dq;             /* (B, T, NH, hd)                                        */
    float *dk, *dv;        /* (B, T, KV, hd)                                        */
    float *datt;           /* (B, T, NH, hd)                                        */
    float *dhid;           /* (B, T, HD)  dh, then dgate                            */
    float *dup;            /* (B, T, HD)                                            */
} lc_tr_acts;

struct lc_trainer {
    lc_train_config cfg;
    lc_model_config mcfg;          /* what checkpoints record                  */
    bool linear;                   /* linear attention (elu+1)                 */
    int n_threads;
    lc_train_memory mem;

    /* parameters: size table and four slabs of n_floats each */
    lc_train_tensor *tensors;
    int32_t n_tensors;
    size_t n_floats;
    int32_t *layer_tensor;         /* [L][LT_COUNT] indices into tensors       */
    int32_t t_embd, t_out_norm, t_out; /* t_out == t_embd when tied            */
    float *params, *grads, *m, *v;

    /* activations and scratch */
    void *act_mem;
    lc_tr_acts acts;
    void *attn_ws;                 /* attention backward (and naive/linear fwd) */
    size_t attn_ws_bytes;
    void *fwd_ws;                  /* lc_attn_forward workspace (flash form)   */
    size_t fwd_ws_bytes;
    void *gemm_ws;
    size_t gemm_ws_bytes;
    double *norm_partials;
    size_t n_norm_partials;
    lc_tr_exec ex;
    lc_attn_params fwd;            /* the forward method of the flash form      */
    char fwd_name[32];
    lc_tr_attn_shape ashape;
    lc_rope_cache *rope;

    int64_t step;                  /* steps completed                          */
    double t_matmul, t_attn;       /* time in the current forward/backward     */
    lc_layer_weights *wlayers;     /* views for lc_trainer_weights             */
    lc_model_weights weights;
};

/* params.c */
lc_status lc_tr_params_layout(lc_trainer *t, lc_error *err);
void lc_tr_params_init(lc_trainer *t);
void lc_tr_weights_views(lc_trainer *t);
uint64_t lc_tr_shape_fingerprint(const lc_model_config *c);
static inline float *lc_tr_p(const lc_trainer *t, float *slab, int32_t tensor) {
    return slab + t->tensors[tensor].offset;
}
static inline int32_t lc_tr_lt(const lc_trainer *t, int64_t layer, int which) {
    return t->layer_tensor[layer * LT_COUNT + which];
}

/* acts.c: carve the activation slab (base NULL: size only, pointers NULL);
 * a->res [L+1] and a->layer [L] must be allocated by the caller. */
void lc_tr_acts_carve(const lc_trainer *t, lc_tr_carver *cv, lc_tr_acts *a, size_t *attention_floats);

/* model_train.c */
lc_status lc_tr_forward(lc_trainer *t, bool want_grad, double *loss, double *weight_sum, lc_error *err);
lc_status lc_tr_backward(lc_trainer *t, lc_error *err);

/* adamw.c */
double lc_tr_grad_norm(const lc_trainer *t);
void lc_tr_adamw_update(lc_trainer *t, float lr, float grad_scale);

/* 64-bit checksum of a byte range (FNV-1a over 8-byte words), chainable. */
uint64_t lc_tr_checksum(uint64_t h, const void *data, size_t n);
#define LC_TR_CHECKSUM_SEED 0xcbf29ce484222325ull

#endif
