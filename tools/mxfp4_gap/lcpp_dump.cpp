// lcpp_dump MODEL TOKENS_CSV OUT: every f32/i32 tensor llama.cpp computes for one decode of the tokens
// (positions 0.., f32 KV, flash attention off, swa_full, 2 threads: the fixtures' settings), as records
// i32 name_len, type, ne[4], name, data. Built by run.sh against ../shared/peers' llama.cpp.
#include "llama.h"
#include "ggml.h"
#include "ggml-backend.h"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
static FILE *g_out;
static bool cb(struct ggml_tensor *t, bool ask, void *) {
    if (ask) return true;
    if (t->type != GGML_TYPE_F32 && t->type != GGML_TYPE_I32) return true;
    if (!ggml_is_contiguous(t)) return true;
    size_t n = ggml_nelements(t);
    std::vector<char> buf(ggml_nbytes(t));
    ggml_backend_tensor_get(t, buf.data(), 0, buf.size());
    char name[128]; snprintf(name, sizeof name, "%s", t->name);
    int32_t hdr[6] = {(int32_t)strlen(name), (int32_t)t->type, (int32_t)t->ne[0], (int32_t)t->ne[1], (int32_t)t->ne[2], (int32_t)t->ne[3]};
    fwrite(hdr, 4, 6, g_out); fwrite(name, 1, strlen(name), g_out); fwrite(buf.data(), 1, buf.size(), g_out);
    (void)n;
    return true;
}
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: model tokens_csv out\n"); return 1; }
    std::vector<llama_token> toks;
    for (char *p = argv[2]; *p;) { toks.push_back((llama_token)strtol(p, &p, 10)); if (*p == ',') p++; }
    g_out = fopen(argv[3], "wb");
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model *model = llama_model_load_from_file(argv[1], mp);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256; cp.n_batch = 256; cp.n_ubatch = 256; cp.n_seq_max = 1; cp.n_threads = 2; cp.n_threads_batch = 2;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; cp.swa_full = true; cp.no_perf = true;
    cp.cb_eval = cb; cp.cb_eval_user_data = nullptr;
    llama_context *ctx = llama_init_from_model(model, cp);
    const int n = (int)toks.size();
    llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
    b.n_tokens = n;
    if (llama_decode(ctx, b) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    fclose(g_out);
    llama_batch_free(b); llama_free(ctx); llama_model_free(model); llama_backend_free();
    return 0;
}
