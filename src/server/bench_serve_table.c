/* The rows of the server's bench cells as the tables `bench serve` prints
 * (server.h, lc_server_bench_*_table): the columns declared once. */
#include <stdio.h>

#include "longctx/server.h"

#define STR(title_, w_) {.title = title_, .kind = LC_TABLE_STR, .width = w_}
#define INT(title_, w_) {.title = title_, .kind = LC_TABLE_INT, .width = w_}

/* "min/median/max" of s * scale: two decimals below 10, none above, into buf[40]. */
static const char *fmt3(lc_bench_spread s, double scale, char *buf) {
    const char *f = s.max * scale < 10 ? "%.2f/%.2f/%.2f" : "%.0f/%.0f/%.0f";
    snprintf(buf, 40, f, s.min * scale, s.median * scale, s.max * scale);
    return buf;
}

static const lc_table_col ttft_cols[] = {
    INT("prefix", 8), INT("tokens", 8), STR("cold", 26), STR("slot cache", 26), STR("prefix tree", 26),
    {.title = "cold/tree (median)", .kind = LC_TABLE_RATIO, .fmt = "%.1f"},
};

lc_status lc_server_bench_ttft_table(lc_table **out, lc_error *err) { return lc_table_create(ttft_cols, 6, out, err); }

void lc_server_bench_ttft_table_add(lc_table *t, const lc_server_bench_ttft_row *r) {
    char cold[40], sc[40], tc[40], slot[72], tree[72];
    snprintf(slot, sizeof slot, "%s (%lld c)", fmt3(r->slot, 1e3, sc), (long long)r->slot_cached);
    snprintf(tree, sizeof tree, "%s (%lld c)", fmt3(r->tree, 1e3, tc), (long long)r->tree_cached);
    LC_TABLE_ADD(t, lc_tv_int(r->prefix), lc_tv_int(r->prompt_tokens), lc_tv_str(fmt3(r->cold, 1e3, cold)),
                 lc_tv_str(slot), lc_tv_str(tree),
                 r->tree.median > 0 ? lc_tv_real(r->cold.median / r->tree.median) : lc_tv_null());
}

static const lc_table_col itl_cols[] = {
    INT("prompt", 8),       STR("prompt turns", 14), STR("ITL alone", 20), STR("ITL beside", 20),
    STR("longest gap beside", 24), STR("prompt TTFT", 22), STR("gaps", 0),
};

lc_status lc_server_bench_itl_table(lc_table **out, lc_error *err) { return lc_table_create(itl_cols, 7, out, err); }

void lc_server_bench_itl_table_add(lc_table *t, const lc_server_bench_itl_row *r) {
    char a[40], b[40], c[40], d[40], g[40];
    snprintf(g, sizeof g, "%.0f/%.0f/%.0f", r->gaps.min, r->gaps.median, r->gaps.max);
    LC_TABLE_ADD(t, lc_tv_int(r->prompt), lc_tv_str(r->prompt_turns ? "on (chunks)" : "off (default)"),
                 lc_tv_str(fmt3(r->gap_alone, 1e3, a)), lc_tv_str(fmt3(r->gap_beside, 1e3, b)),
                 lc_tv_str(fmt3(r->gap_longest, 1e3, c)), lc_tv_str(fmt3(r->prompt_ttft, 1e3, d)), lc_tv_str(g));
}

static const lc_table_col decode_cols[] = {
    INT("slots", 5), STR("tokens/s (min/median/max)", 30), STR("tokens per CPU-second", 0)};

lc_status lc_server_bench_decode_table(lc_table **out, lc_error *err) {
    return lc_table_create(decode_cols, 3, out, err);
}

void lc_server_bench_decode_table_add(lc_table *t, const lc_server_bench_decode_row *r) {
    char a[64], c[64];
    snprintf(a, sizeof a, "%.1f / %.1f / %.1f", r->tok_s.min, r->tok_s.median, r->tok_s.max);
    snprintf(c, sizeof c, "%.1f / %.1f / %.1f", r->tok_cpu_s.min, r->tok_cpu_s.median, r->tok_cpu_s.max);
    LC_TABLE_ADD(t, lc_tv_int(r->n_parallel), lc_tv_str(a), lc_tv_str(c));
}
