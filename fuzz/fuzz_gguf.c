/*
 * libFuzzer target: the GGUF reader on arbitrary bytes, then everything a
 * caller can reach from an opened file (every getter on every key, every
 * tensor's bytes), then the llama model loader (config keys, tensor shapes,
 * tokenizer metadata) on top of it.
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_gguf -max_len=65536 fuzz/corpus/gguf
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "longctx/gguf.h"
#include "model/model_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch(const void *p, size_t n) {
    const uint8_t *b = p;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += b[i];
    sink += s;
}

static void touch_tensor(const lc_tensor *t) {
    size_t row = 0;
    if (lc_dtype_row_bytes(t->type, t->cols, &row, NULL) == LC_OK) touch(t->data, row * (size_t)t->rows);
}

static void walk(const lc_gguf *g) {
    lc_error err;
    for (int64_t i = 0; i < lc_gguf_n_kv(g); i++) {
        const char *k = lc_gguf_key_name(g, i);
        uint64_t u;
        int64_t v;
        double d;
        bool b;
        const char *s;
        size_t len;
        lc_gguf_get_u64(g, k, &u, &err);
        lc_gguf_get_i64(g, k, &v, &err);
        lc_gguf_get_f64(g, k, &d, &err);
        lc_gguf_get_bool(g, k, &b, &err);
        if (lc_gguf_get_str(g, k, &s, &len, &err) == LC_OK) touch(s, len);
        lc_gguf_type et;
        uint64_t n;
        const void *arr;
        if (lc_gguf_get_arr(g, k, &et, &n, &arr, &err) == LC_OK) {
            size_t esz = et == LC_GGUF_UINT8 || et == LC_GGUF_INT8 || et == LC_GGUF_BOOL ? 1
                         : et == LC_GGUF_UINT16 || et == LC_GGUF_INT16                    ? 2
                         : et == LC_GGUF_UINT32 || et == LC_GGUF_INT32 || et == LC_GGUF_FLOAT32 ? 4
                         : et == LC_GGUF_STRING || et == LC_GGUF_ARRAY                   ? 0
                                                                                          : 8;
            if (arr) touch(arr, (size_t)n * esz);
            for (uint64_t j = 0; et == LC_GGUF_STRING && j < n; j++)
                if (lc_gguf_get_arr_str(g, k, j, &s, &len, &err) == LC_OK) touch(s, len);
        }
    }
    for (int64_t i = 0; i < lc_gguf_n_tensors(g); i++) {
        const lc_gguf_tensor *t = lc_gguf_tensor_at(g, i);
        if (t->data) touch(t->data, t->nbytes);
        if (lc_gguf_find_tensor(g, t->name) != t) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lc_gguf *g = NULL;
    lc_error err;
    if (lc_gguf_open_memory(data, size, &g, &err) != LC_OK) return 0;
    walk(g);
    lc_model *m = NULL;
    if (lc_model_from_gguf(g, &m, &err) != LC_OK) {
        lc_gguf_close(g);
        return 0;
    }
    /* the model owns g now */
    touch_tensor(&m->w.tok_embd);
    touch_tensor(&m->w.output);
    touch_tensor(&m->w.output_norm);
    for (int32_t l = 0; l < m->cfg.n_layers; l++)
        for (int id = 0; id < LC_W_LAYER_COUNT; id++)
            touch_tensor(lc_layer_weight_const(&m->w.layers[l], (lc_layer_weight_id)id));
    sink += (uint64_t)lc_model_n_params(&m->cfg) + lc_model_kv_bytes_per_token(&m->cfg, LC_DTYPE_F16, LC_DTYPE_F16);
    lc_model_free(m);
    return 0;
}
