/* bench serve's sections (server.h, lc_server_bench_*_print): each prints
 * its heading and its table's titles, then measures its cells one by one,
 * printing each row as soon as it is measured. */
#include <stdio.h>

#include "longctx/server.h"

/* t made by make, its titles printed. */
static lc_status start(FILE *f, lc_status (*make)(lc_table **, lc_error *), lc_table **t, lc_error *err) {
    lc_status st = make(t, err);
    if (st == LC_OK) st = lc_table_print_header(*t, f, err);
    return st;
}

/* The row just added to t, printed and flushed. */
static lc_status print_last(FILE *f, const lc_table *t, lc_error *err) {
    const lc_status st = lc_table_print_row(t, f, lc_table_n_rows(t) - 1, err);
    fflush(f);
    return st;
}

static lc_status usable(FILE *f, const lc_server_bench *b, const int64_t *lengths, int n, lc_error *err) {
    if (!f || !b || (n > 0 && !lengths) || n < 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench serve: no file, bench or lengths");
    return LC_OK;
}

lc_status lc_server_bench_ttft_print(lc_server_bench *b, const int64_t *prefixes, int n, FILE *f, lc_error *err) {
    lc_status st = usable(f, b, prefixes, n, err);
    if (st != LC_OK) return st;
    fprintf(f, "# time to first token (ms; request with max_tokens 1, loopback HTTP)\n");
    lc_table *t = NULL;
    st = start(f, lc_server_bench_ttft_table, &t, err);
    for (int p = 0; p < n && st == LC_OK; p++) {
        lc_server_bench_ttft_row r;
        if ((st = lc_server_bench_ttft(b, prefixes[p], &r, err)) != LC_OK) break;
        lc_server_bench_ttft_table_add(t, &r);
        st = print_last(f, t, err);
    }
    lc_table_free(t);
    return st;
}

lc_status lc_server_bench_itl_print(lc_server_bench *b, const int64_t *prompts, int n, FILE *f, lc_error *err) {
    lc_status st = usable(f, b, prompts, n, err);
    if (st != LC_OK) return st;
    const int64_t chunk = b->server.prompt_chunk;
    fprintf(f,
            "# inter-token latency (ms) of a stream while another client sends a cold prompt (--parallel 2,\n"
            "# --prompt-chunk %lld): the stream's median gap before the prompt, its median and longest gap while\n"
            "# the prompt is evaluated, the prompt's TTFT, and the gaps counted\n",
            (long long)(chunk > 0 ? chunk : 512));
    lc_table *t = NULL;
    st = start(f, lc_server_bench_itl_table, &t, err);
    for (int i = 0; i < n * 2 && st == LC_OK; i++) { /* each length, prompt turns off then on */
        lc_server_bench_itl_row r;
        if ((st = lc_server_bench_itl(b, prompts[i / 2], i % 2, &r, err)) != LC_OK) break;
        lc_server_bench_itl_table_add(t, &r);
        st = print_last(f, t, err);
    }
    lc_table_free(t);
    return st;
}

lc_status lc_server_bench_decode_print(const lc_server_bench *b, int clients, int64_t n_tokens, FILE *f,
                                       lc_error *err) {
    lc_status st = usable(f, b, NULL, 0, err);
    if (st != LC_OK) return st;
    static const char *const mode[3] = {"auto", "off", "on"};
    const int db = b->server.decode_batch;
    fprintf(f, "# aggregate decode: %d clients at once, %lld tokens each (ignore_eos, greedy; --decode-batch %s)\n",
            clients, (long long)n_tokens, db >= -1 && db <= 1 ? mode[db + 1] : "?");
    lc_table *t = NULL;
    st = start(f, lc_server_bench_decode_table, &t, err);
    for (int k = 0; k < 2 && st == LC_OK; k++) { /* --parallel clients, then 1 */
        lc_server_bench_decode_row r;
        if ((st = lc_server_bench_decode(b, clients, k ? 1 : clients, n_tokens, &r, err)) != LC_OK) break;
        lc_server_bench_decode_table_add(t, &r);
        st = print_last(f, t, err);
    }
    lc_table_free(t);
    return st;
}
