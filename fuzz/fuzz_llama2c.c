/*
 * libFuzzer target: the llama2.c legacy checkpoint loader on arbitrary bytes
 * (header validation, exact size check), then every weight it exposes.
 *
 *   cmake -S . -B build-fuzz -DLONGCTX_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   ./build-fuzz/fuzz_llama2c -max_len=65536 fuzz/corpus/llama2c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch_tensor(const lc_tensor *t) {
    size_t row = 0;
    if (lc_dtype_row_bytes(t->type, t->cols, &row, NULL) != LC_OK) return;
    const uint8_t *b = t->data;
    uint64_t s = 0;
    for (size_t i = 0; i < row * (size_t)t->rows; i++) s += b[i];
    sink += s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The loader wants 4-byte aligned floats, as an mmap gives: copy into an
     * exactly sized heap buffer (so ASan sees any over-read). */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_load_llama2c_memory(buf, size, &m, &err) == LC_OK) {
        touch_tensor(&m->w.tok_embd);
        touch_tensor(&m->w.output);
        touch_tensor(&m->w.output_norm);
        for (int32_t l = 0; l < m->cfg.n_layers; l++)
            for (int id = 0; id < LC_W_LAYER_COUNT; id++)
                touch_tensor(lc_layer_weight_const(&m->w.layers[l], (lc_layer_weight_id)id));
        lc_model_free(m);
    }
    free(buf);
    return 0;
}
