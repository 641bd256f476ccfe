/*
 * lc_quantize_gguf: GGUF in, GGUF out, tensor types chosen by
 * lc_quant_choose. Unchanged tensors are written straight from the input's
 * mapping; converted ones are produced one at a time while writing (rows
 * split between threads: dequantize to f32, check finiteness, quantize), so
 * the extra memory is one f32 row per thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "common/util.h"
#include "longctx/quant.h"
#include "quant/quant.h"

#define GGML_QNT_VERSION 2 /* general.quantization_version of current ggml */

void lc_quantize_opts_init(lc_quantize_opts *o) {
    memset(o, 0, sizeof *o);
}

lc_status lc_quant_row_from_f32(lc_dtype t, const float *src, void *dst, int64_t n, lc_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(src[i]))
            return lc_fail(err, LC_ERR_FORMAT, "value %lld of the row is %g (not finite)", (long long)i,
                           (double)src[i]);
    switch (t) {
    case LC_DTYPE_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return LC_OK;
    case LC_DTYPE_F16: lc_f32_to_f16_row(src, (uint16_t *)dst, n); return LC_OK;
    case LC_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = lc_f32_to_bf16(src[i]);
            memcpy((uint8_t *)dst + 2 * i, &h, 2);
        }
        return LC_OK;
    default: {
        const lc_quant_traits *q = lc_quant_traits_of(t);
        if (!q || !q->from_f32) return lc_fail(err, LC_ERR_UNSUPPORTED, "longctx cannot write %s", lc_dtype_name(t));
        if (n % q->block)
            return lc_fail(err, LC_ERR_INVALID_ARG, "%s rows need a multiple of %d elements, got %lld", q->name,
                           (int)q->block, (long long)n);
        q->from_f32(src, dst, n);
        return LC_OK;
    }
    }
}

typedef struct {
    const lc_gguf_tensor *src;
    lc_dtype dst;
    int64_t rows, cols;
    int n_threads;
} conv_job;

static lc_status fill_converted(void *user, void *dst, size_t nbytes, lc_error *err) {
    const conv_job *j = user;
    size_t src_row, dst_row;
    lc_status st;
    if ((st = lc_dtype_row_bytes(j->src->dtype, j->cols, &src_row, err)) != LC_OK ||
        (st = lc_dtype_row_bytes(j->dst, j->cols, &dst_row, err)) != LC_OK)
        return st;
    size_t dst_total, src_total, scratch_bytes;
    if (!lc_mul_size(dst_row, (size_t)j->rows, &dst_total) || !lc_mul_size(src_row, (size_t)j->rows, &src_total) ||
        dst_total != nbytes || src_total != j->src->nbytes)
        return lc_fail(err, LC_ERR_INTERNAL, "quantize: %s: size mismatch", j->src->name);
    int nt = j->n_threads;
    if ((int64_t)nt > j->rows) nt = (int)j->rows;
    if (nt < 1) nt = 1;
    if (!lc_mul3_size((size_t)nt, (size_t)j->cols, sizeof(float), &scratch_bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "quantize: %s: rows of %lld values on %d threads overflow size_t",
                       j->src->name, (long long)j->cols, nt);
    float *scratch = lc_malloc_aligned(scratch_bytes);
    if (!scratch) return lc_fail(err, LC_ERR_NOMEM, "quantize: out of memory converting %s", j->src->name);
    int64_t bad_row = -1;
    const int64_t rows = j->rows, cols = j->cols;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t r = 0; r < rows; r++) {
        float *x = scratch + (size_t)omp_get_thread_num() * (size_t)cols;
        lc_row_to_f32(j->src->dtype, (const uint8_t *)j->src->data + (size_t)r * src_row, x, cols, NULL);
        if (lc_quant_row_from_f32(j->dst, x, (uint8_t *)dst + (size_t)r * dst_row, cols, NULL) != LC_OK) {
#pragma omp critical(lc_quantize_bad_row)
            if (bad_row < 0 || r < bad_row) bad_row = r;
        }
    }
    lc_free_aligned(scratch);
    if (bad_row >= 0)
        return lc_fail(err, LC_ERR_FORMAT, "quantize: tensor '%s' row %lld has a value that is not finite",
                       j->src->name, (long long)bad_row);
    return LC_OK;
}

/* n_layers from "<arch>.block_count" (0 if absent). */
static int64_t block_count(const lc_gguf *g) {
    const char *arch;
    size_t len;
    if (lc_gguf_get_str(g, "general.architecture", &arch, &len, NULL) != LC_OK || len > 64) return 0;
    char key[96];
    snprintf(key, sizeof key, "%.*s.block_count", (int)len, arch);
    int64_t n = 0;
    if (lc_gguf_get_i64(g, key, &n, NULL) != LC_OK || n < 0) return 0;
    return n;
}

static lc_status build(lc_gguf *g, lc_gguf_writer *w, const lc_quant_spec *spec, const lc_quantize_opts *o,
                       conv_job *jobs, lc_quantize_report *rep, lc_error *err) {
    lc_status st;
    for (int64_t i = 0; i < lc_gguf_n_kv(g); i++)
        if ((st = lc_gguf_copy_kv(w, g, lc_gguf_key_name(g, i), err)) != LC_OK) return st;
    if ((st = lc_gguf_set_u32(w, "general.file_type", spec->file_type, err)) != LC_OK ||
        (st = lc_gguf_set_u32(w, "general.quantization_version", GGML_QNT_VERSION, err)) != LC_OK)
        return st;

    const int64_t n = lc_gguf_n_tensors(g);
    int64_t n_attn_v = 0, n_layers = block_count(g), n_ffn_down = 0;
    bool has_output = false;
    for (int64_t i = 0; i < n; i++) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
        if (t->dtype == LC_DTYPE_COUNT) {
            const char *tn = lc_gguf_ggml_type_name(t->ggml_type);
            return lc_fail(err, LC_ERR_UNSUPPORTED, "quantize: tensor '%s' has type %s%s, which longctx cannot read",
                           t->name, tn ? tn : "id ", tn ? "" : "?");
        }
        if (strstr(t->name, "attn_v.weight") || strstr(t->name, "attn_qkv.weight") || strstr(t->name, "attn_kv_b.weight"))
            n_attn_v++;
        if (strstr(t->name, "ffn_down")) n_ffn_down++;
        if (strcmp(t->name, "output.weight") == 0) has_output = true;
    }
    lc_quant_plan plan;
    lc_quant_plan_init(&plan, n_attn_v, n_layers > 0 ? n_layers : n_ffn_down, has_output);
    const int nt = o->n_threads > 0 ? o->n_threads : lc_cpu_count();
    for (int64_t i = 0; i < n; i++) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
        bool fallback = false;
        lc_dtype d = lc_quant_choose(spec, &plan, t->name, t->n_dims, t->ne[0], t->dtype, &fallback);
        int64_t rows = t->ne[1] * t->ne[2] * t->ne[3]; /* the reader checked the product */
        size_t row_bytes, out_bytes;
        if ((st = lc_dtype_row_bytes(d, t->ne[0], &row_bytes, err)) != LC_OK) return st;
        if (!lc_mul_size(row_bytes, (size_t)rows, &out_bytes) || !lc_add_size(rep->bytes_out, out_bytes, &out_bytes))
            return lc_fail(err, LC_ERR_TOO_LARGE, "quantize: tensor '%s' as %s overflows size_t", t->name,
                           lc_dtype_name(d));
        rep->n_tensors++;
        rep->n_fallback += fallback;
        rep->count[d]++;
        rep->bytes_in += t->nbytes;
        rep->bytes_out = out_bytes;
        if (d == t->dtype) {
            st = lc_gguf_add_tensor(w, t->name, d, t->n_dims, t->ne, t->data, err);
        } else {
            if (lc_quant_is_block_type(t->dtype) && !o->allow_requantize)
                return lc_fail(err, LC_ERR_UNSUPPORTED,
                               "quantize: tensor '%s' is already %s; requantizing loses precision (allow it "
                               "explicitly: --allow-requantize)",
                               t->name, lc_dtype_name(t->dtype));
            rep->n_quantized += lc_quant_is_block_type(d);
            jobs[i] = (conv_job){t, d, rows, t->ne[0], nt};
            st = lc_gguf_add_tensor_fn(w, t->name, d, t->n_dims, t->ne, fill_converted, &jobs[i], err);
        }
        if (st != LC_OK) return st;
    }
    if (o->progress) lc_gguf_writer_set_progress(w, o->progress, o->progress_user);
    return LC_OK;
}

lc_status lc_quantize_gguf(const char *in_path, const char *out_path, const lc_quant_spec *spec,
                           const lc_quantize_opts *o, lc_quantize_report *rep, lc_error *err) {
    if (!in_path || !out_path || !spec) return lc_fail(err, LC_ERR_INVALID_ARG, "quantize: NULL argument");
    lc_quantize_opts dflt;
    if (!o) {
        lc_quantize_opts_init(&dflt);
        o = &dflt;
    }
    lc_quantize_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    const double t0 = lc_time_now();
    lc_gguf *g;
    lc_status st = lc_gguf_open(in_path, &g, err);
    if (st != LC_OK) return st;
    conv_job *jobs = calloc((size_t)lc_gguf_n_tensors(g) + 1, sizeof *jobs);
    lc_gguf_writer *w = NULL;
    if (!jobs) st = lc_fail(err, LC_ERR_NOMEM, "quantize: out of memory");
    if (st == LC_OK) st = lc_gguf_writer_create(&w, err);
    if (st == LC_OK) st = build(g, w, spec, o, jobs, rep, err);
    if (st == LC_OK) st = lc_gguf_write(w, out_path, lc_gguf_alignment(g), err);
    lc_gguf_writer_free(w);
    free(jobs);
    lc_gguf_close(g);
    rep->seconds = lc_time_now() - t0;
    return st;
}

void lc_quantize_report_print(FILE *f, const char *out_path, const lc_quant_spec *spec, const lc_quantize_report *rep) {
    fprintf(f, "wrote %s: %s%s, %lld tensors (%lld quantized, %lld fallbacks), %.2f MB -> %.2f MB, %.2f s\n", out_path,
            spec->name, spec->pure ? " (pure)" : "", (long long)rep->n_tensors, (long long)rep->n_quantized,
            (long long)rep->n_fallback, (double)rep->bytes_in / 1e6, (double)rep->bytes_out / 1e6, rep->seconds);
    fprintf(f, "tensor types:");
    for (int t = 0; t < LC_DTYPE_COUNT; t++)
        if (rep->count[t]) fprintf(f, " %s %lld", lc_dtype_name((lc_dtype)t), (long long)rep->count[t]);
    fprintf(f, "\n");
}
