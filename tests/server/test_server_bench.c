/*
 * lc_server_bench_* (server.h): the cells of `bench serve`, each starting a
 * server in this process on a free loopback port, against a tiny random
 * model (2 layers, dim 32) with the tokenizer of models/longctx-default.gguf.
 * Checked for what must hold whatever the machine's speed:
 *  - TTFT: the row's prefix, the server's prompt count near the asked
 *    length, the slot's and the tree's cached tokens a prefix of the cold
 *    prompt (the document without its question), every spread ordered and
 *    positive, and chars_per_token measured and kept;
 *  - ITL: spreads ordered, gaps counted, the prompt's TTFT positive;
 *  - decode: tokens/s spreads ordered and positive, both slot counts;
 *  - the tables bench serve prints, on rows of known figures (exact text);
 *  - the sections (lc_server_bench_*_print): heading, titles, a row per
 *    cell (decode: --parallel N, then 1), a refusal without a file;
 *  - refusals: no model, 0 or 101 repetitions, 0 tokens, 65 clients, more
 *    slots than clients, a model that is not there, and a document too long
 *    for the slot (the server's 400 comes back as LC_ERR_IO naming it).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/server.h"
#include "test_util.h"

/* min <= median <= max, min above 0 (times: gaps between two events that one read delivered can be 0). */
static bool ordered(lc_bench_spread s) { return s.min > 0 && s.min <= s.median && s.median <= s.max; }
static bool ordered0(lc_bench_spread s) { return s.min >= 0 && s.min <= s.median && s.median <= s.max; }

/* A 2-layer random model with the default model's tokenizer, written to dir/tiny.gguf. */
static bool write_model(const char *dir, char *path, size_t len) {
    lc_error err;
    lc_model *def = NULL, *m = NULL;
    CHECK_OK(lc_model_load(LC_SOURCE_DIR "/models/longctx-default.gguf", NULL, &def, &err), &err);
    if (!def || !def->tokenizer) return false;
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = 32, c.hidden_dim = 64, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.head_dim = 16;
    c.vocab_size = lc_tokenizer_n_vocab(def->tokenizer), c.ctx_train = 4096, c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, 16);
    snprintf(path, len, "%s/tiny.gguf", dir);
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &m, &err), &err);
    if (m) CHECK_OK(lc_model_write_gguf(path, &m->cfg, &m->w, def->tokenizer, LC_DTYPE_F32, &err), &err);
    const bool ok = m != NULL && access(path, R_OK) == 0;
    lc_model_free(m);
    lc_model_free(def);
    return ok;
}

static void test_ttft(lc_server_bench *b) {
    lc_server_bench_ttft_row r;
    lc_error err;
    CHECK_OK(lc_server_bench_ttft(b, 200, &r, &err), &err);
    CHECK(r.prefix == 200, "prefix %lld", (long long)r.prefix);
    CHECK(r.prompt_tokens >= 150 && r.prompt_tokens <= 260, "200 tokens asked, the server counted %lld",
          (long long)r.prompt_tokens);
    CHECK(r.slot_cached > r.prompt_tokens / 2 && r.slot_cached < r.prompt_tokens, "slot cached %lld of %lld",
          (long long)r.slot_cached, (long long)r.prompt_tokens);
    CHECK(r.tree_cached > r.prompt_tokens / 2 && r.tree_cached < r.prompt_tokens, "tree cached %lld of %lld",
          (long long)r.tree_cached, (long long)r.prompt_tokens);
    CHECK(ordered(r.cold) && ordered(r.slot) && ordered(r.tree), "TTFT spreads %g/%g/%g, %g/%g/%g, %g/%g/%g",
          r.cold.min, r.cold.median, r.cold.max, r.slot.min, r.slot.median, r.slot.max, r.tree.min, r.tree.median,
          r.tree.max);
    CHECK(b->chars_per_token > 1 && b->chars_per_token < 20, "chars per token %g", b->chars_per_token);
}

static void test_itl(lc_server_bench *b) {
    for (int turns = 0; turns < 2; turns++) {
        lc_server_bench_itl_row r;
        lc_error err;
        CHECK_OK(lc_server_bench_itl(b, 128, turns, &r, &err), &err);
        CHECK(r.prompt == 128 && r.prompt_turns == (turns == 1), "row %lld %d", (long long)r.prompt, r.prompt_turns);
        CHECK(ordered0(r.gap_alone) && ordered0(r.gap_beside) && ordered(r.prompt_ttft),
              "turns %d: alone %g/%g/%g, beside %g/%g/%g, TTFT %g/%g/%g", turns, r.gap_alone.min, r.gap_alone.median,
              r.gap_alone.max, r.gap_beside.min, r.gap_beside.median, r.gap_beside.max, r.prompt_ttft.min,
              r.prompt_ttft.median, r.prompt_ttft.max);
        CHECK(ordered0(r.gap_longest) && r.gap_longest.min >= r.gap_beside.min, "turns %d: longest %g, median %g",
              turns, r.gap_longest.min, r.gap_beside.min);
        CHECK(r.gaps.min >= 1 && r.gaps.median <= r.gaps.max, "turns %d: gaps %g/%g/%g", turns, r.gaps.min,
              r.gaps.median, r.gaps.max);
    }
}

static void test_decode(const lc_server_bench *b) {
    for (int np = 1; np <= 2; np++) {
        lc_server_bench_decode_row r;
        lc_error err;
        CHECK_OK(lc_server_bench_decode(b, 2, np, 16, &r, &err), &err);
        CHECK(r.clients == 2 && r.n_parallel == np && r.n_tokens == 16, "row %d %d %lld", r.clients, r.n_parallel,
              (long long)r.n_tokens);
        CHECK(ordered(r.tok_s) && r.tok_cpu_s.min <= r.tok_cpu_s.median && r.tok_cpu_s.median <= r.tok_cpu_s.max,
              "np %d: tok/s %g/%g/%g, per CPU-s %g/%g/%g", np, r.tok_s.min, r.tok_s.median, r.tok_s.max,
              r.tok_cpu_s.min, r.tok_cpu_s.median, r.tok_cpu_s.max);
    }
}

static void test_refusals(const lc_server_bench *good) {
    lc_server_bench b = *good;
    lc_server_bench_ttft_row t;
    lc_server_bench_decode_row d;
    lc_error err;
    b.server.model_path = NULL;
    CHECK(lc_server_bench_ttft(&b, 64, &t, &err) == LC_ERR_INVALID_ARG, "no model");
    b = *good, b.reps = 0;
    CHECK(lc_server_bench_ttft(&b, 64, &t, &err) == LC_ERR_INVALID_ARG, "0 repetitions");
    b.reps = LC_SERVER_BENCH_MAX_REPS + 1;
    CHECK(lc_server_bench_decode(&b, 2, 1, 8, &d, &err) == LC_ERR_INVALID_ARG, "101 repetitions");
    b = *good;
    CHECK(lc_server_bench_ttft(&b, 0, &t, &err) == LC_ERR_INVALID_ARG, "0 tokens");
    CHECK(lc_server_bench_decode(&b, LC_SERVER_BENCH_MAX_CLIENTS + 1, 1, 8, &d, &err) == LC_ERR_INVALID_ARG,
          "65 clients");
    CHECK(lc_server_bench_decode(&b, 2, 3, 8, &d, &err) == LC_ERR_INVALID_ARG, "3 slots for 2 clients");
    b.server.model_path = "/nonexistent/model.gguf";
    CHECK(lc_server_bench_decode(&b, 1, 1, 8, &d, &err) != LC_OK && strstr(err.msg, "nonexistent"), "missing: %s",
          err.msg);
    b = *good, b.chars_per_token = 200; /* 64 "tokens" of 200 characters: far past the slot's 576 */
    const lc_status st = lc_server_bench_ttft(&b, 64, &t, &err);
    CHECK(st == LC_ERR_IO && strstr(err.msg, "request failed"), "too long a prompt: %s: %s", lc_status_str(st),
          err.msg);
    b.chars_per_token = 1e12;
    CHECK(lc_server_bench_ttft(&b, 64, &t, &err) == LC_ERR_TOO_LARGE, "a document past 48 MiB: %s", err.msg);
}

/* t's text (header and rows, fitted widths) into buf; the table is freed. */
static void table_text(lc_table *t, char *buf, size_t len) {
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    lc_error err;
    CHECK_OK(lc_table_print_text(t, f, &err), &err);
    fclose(f);
    snprintf(buf, len, "%s", text ? text : "");
    free(text);
    lc_table_free(t);
}

static void test_tables(void) {
    lc_table *t = NULL;
    lc_error err;
    char buf[1024];
    const lc_server_bench_ttft_row tr = {.prefix = 2048, .prompt_tokens = 1923, .cold = {0.058, 0.06, 0.091},
                                         .slot = {0.002, 0.0025, 0.013}, .tree = {0.001, 0.0012, 0.005},
                                         .slot_cached = 1919, .tree_cached = 1919};
    CHECK_OK(lc_server_bench_ttft_table(&t, &err), &err);
    lc_server_bench_ttft_table_add(t, &tr);
    table_text(t, buf, sizeof buf);
    CHECK(!strcmp(buf, "  prefix   tokens cold                       slot cache                 prefix tree         "
                       "       cold/tree (median)\n"
                       "    2048     1923 58/60/91                   2/2/13 (1919 c)            1.00/1.20/5.00 (1919 c)"
                       "                 50.0x\n"),
          "ttft table:\n%s", buf);
    const lc_server_bench_itl_row ir = {.prompt = 8192, .prompt_turns = true, .gap_alone = {1e-4, 1.1e-4, 1.2e-4},
                                        .gap_beside = {0.0012, 0.002, 0.0064}, .gap_longest = {0.012, 0.014, 0.083},
                                        .prompt_ttft = {0.046, 0.069, 0.186}, .gaps = {16, 46.5, 76}};
    CHECK_OK(lc_server_bench_itl_table(&t, &err), &err);
    lc_server_bench_itl_table_add(t, &ir);
    table_text(t, buf, sizeof buf);
    CHECK(!strcmp(buf, "  prompt prompt turns   ITL alone            ITL beside           longest gap beside       "
                       "prompt TTFT            gaps\n"
                       "    8192 on (chunks)    0.10/0.11/0.12       1.20/2.00/6.40       12/14/83                 "
                       "46/69/186              16/46/76\n"),
          "itl table:\n%s", buf);
    const lc_server_bench_decode_row dr = {.clients = 4, .n_parallel = 4, .n_tokens = 128,
                                           .tok_s = {9547, 9637.25, 9881}, .tok_cpu_s = {100, 200, 300}};
    CHECK_OK(lc_server_bench_decode_table(&t, &err), &err);
    lc_server_bench_decode_table_add(t, &dr);
    table_text(t, buf, sizeof buf);
    CHECK(!strcmp(buf, "slots tokens/s (min/median/max)      tokens per CPU-second\n"
                       "    4 9547.0 / 9637.2 / 9881.0       100.0 / 200.0 / 300.0\n"),
          "decode table:\n%s", buf);
}

/* Count of lines of s that start with prefix. */
static int lines_starting(const char *s, const char *prefix) {
    int n = 0;
    for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        n += !strncmp(p, prefix, strlen(prefix));
    return n;
}

static void test_sections(lc_server_bench *b) {
    char *text = NULL;
    size_t n = 0;
    lc_error err;
    FILE *f = open_memstream(&text, &n);
    const int64_t prefix[1] = {200};
    CHECK_OK(lc_server_bench_ttft_print(b, prefix, 1, f, &err), &err);
    CHECK_OK(lc_server_bench_decode_print(b, 2, 8, f, &err), &err);
    fclose(f);
    const char *head = "# time to first token (ms; request with max_tokens 1, loopback HTTP)\n  prefix   tokens cold";
    CHECK(text && !strncmp(text, head, strlen(head)) &&
              lines_starting(text, "     200 ") == 1 &&
              strstr(text, "\n# aggregate decode: 2 clients at once, 8 tokens each (ignore_eos, greedy; --decode-batch "
                           "auto)\nslots tokens/s") &&
              lines_starting(text, "    2 ") == 1 && lines_starting(text, "    1 ") == 1,
          "sections:\n%s", text ? text : "");
    free(text);
    CHECK(lc_server_bench_itl_print(b, prefix, 1, NULL, &err) == LC_ERR_INVALID_ARG, "no file");
}

int main(void) {
    test_tables();
    char dir[] = "/tmp/lc_server_bench_XXXXXX", path[256];
    if (!mkdtemp(dir)) return 1;
    if (write_model(dir, path, sizeof path)) {
        lc_server_bench b;
        lc_server_bench_init(&b, path);
        b.reps = 2;
        b.server.n_threads = 1;
        test_ttft(&b);
        test_itl(&b);
        test_decode(&b);
        test_sections(&b);
        test_refusals(&b);
    }
    unlink(path);
    rmdir(dir);
    return lc_test_finish("test_server_bench");
}
