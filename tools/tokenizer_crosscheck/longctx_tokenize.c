/* tools/tokenizer_crosscheck: the longctx side (run.sh builds it against liblongctx.a). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"
int main(int argc, char **argv) {
    lc_gguf *g; lc_tokenizer *t; lc_error err;
    if (lc_gguf_open(argv[1], &g, &err) != LC_OK || lc_tokenizer_from_gguf(g, &t, &err) != LC_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
    static char line[1 << 17], s[1 << 16];
    static int32_t ids[1 << 18];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = 0;
        for (size_t i = 0; line[i] && line[i + 1] && line[i] != '\n'; i += 2) { unsigned v; sscanf(line + i, "%2x", &v); s[n++] = (char)v; }
        int64_t k = 0;
        if (lc_tokenizer_encode(t, s, n, false, ids, 1 << 18, &k, &err) != LC_OK) { printf("ERR\n"); continue; }
        for (int64_t i = 0; i < k; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    return 0;
}
