/* simple: generate text from a prompt with longctx's one-call text API.
 *
 *   simple MODEL.gguf "Once upon a time" [N_TOKENS]
 *
 * Build against an installed longctx:
 *   cc simple.c $(pkg-config --cflags --libs longctx) -o simple
 */
#include <stdio.h>
#include <stdlib.h>

#include <longctx/longctx.h>

static bool print_piece(void *user, const char *piece, size_t len) {
    (void)user;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL PROMPT [N_TOKENS]\n", argv[0]);
        return 2;
    }
    lc_error err;
    lc_model *model = NULL;
    lc_context *ctx = NULL;
    if (lc_model_load(argv[1], NULL, &model, &err) != LC_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 512;
    int rc = 1;
    if (lc_context_create(model, &co, &ctx, &err) == LC_OK) {
        lc_text_opts to;
        lc_text_opts_init(&to);
        to.n_predict = argc > 3 ? atoi(argv[3]) : 32;
        to.sampler.temp = 0; /* greedy: the same text every run */
        to.on_piece = print_piece;
        lc_generate_result res;
        fputs(argv[2], stdout);
        if (lc_generate_text(ctx, argv[2], &to, NULL, &res, &err) == LC_OK) {
            printf("\n[%lld prompt tokens, %lld generated, stop: %s]\n", (long long)res.n_prompt,
                   (long long)res.n_generated, lc_stop_reason_name(res.stop));
            rc = 0;
        }
    }
    if (rc != 0) fprintf(stderr, "error: %s\n", err.msg);
    lc_context_free(ctx);
    lc_model_free(model);
    return rc;
}
