/*
 * util.h's helpers for text a person types or reads: numbers with bounds and
 * K/M/G suffixes, durations, edit distance and the nearest word, and the
 * progress line (drawn only on a terminal).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/util.h"
#include "test_util.h"

static void test_parse_i64(void) {
    int64_t v = -7;
    CHECK(lc_parse_i64_in("42", 0, 100, &v) && v == 42, "42 -> %lld", (long long)v);
    CHECK(lc_parse_i64_in("4K", 0, 1 << 20, &v) && v == 4096, "4K -> %lld", (long long)v);
    CHECK(lc_parse_i64_in("2m", 0, 1 << 30, &v) && v == 2 << 20, "2m -> %lld", (long long)v);
    CHECK(lc_parse_i64_in("1G", 0, (int64_t)1 << 40, &v) && v == (int64_t)1 << 30, "1G");
    CHECK(lc_parse_i64_in("-3", -5, 5, &v) && v == -3, "-3");
    v = 99;
    const char *bad[] = {"", "x", "4KB", "4 ", " ", "1.5", "9223372036854775807K", "99999999999999999999", "101"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!lc_parse_i64_in(bad[i], 0, 100, &v) && v == 99, "'%s' must be refused, out untouched", bad[i]);
    CHECK(!lc_parse_i64_in(NULL, 0, 100, &v), "NULL");
    CHECK(!lc_parse_i64_in("1K", 0, 1023, &v) && lc_parse_i64_in("1K", 0, 1024, &v), "bound after the suffix");
}

static void test_parse_double(void) {
    double d = 5;
    CHECK(lc_parse_double_in("0.25", 0, 1, &d) && d == 0.25, "0.25");
    CHECK(lc_parse_double_in("1e-400", -1, 1, &d) && d >= 0 && d < 1e-300, "underflow is a tiny number");
    d = 5;
    const char *bad[] = {"", "nan", "inf", "1e400", "2", "0.5x", "-0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!lc_parse_double_in(bad[i], 0, 1, &d) && d == 5, "'%s' must be refused", bad[i]);
}

static void test_parse_list(void) {
    int64_t v[4];
    int n = -1;
    CHECK(lc_parse_i64_list("1K,4K,16384", 1, 1 << 20, v, 4, &n) && n == 3 && v[0] == 1024 && v[1] == 4096 &&
              v[2] == 16384,
          "n %d", n);
    CHECK(!lc_parse_i64_list("1,2,3,4,5", 1, 10, v, 4, &n), "more than max");
    CHECK(!lc_parse_i64_list("1,,2", 1, 10, v, 4, &n), "empty entry");
    CHECK(!lc_parse_i64_list("", 1, 10, v, 4, &n) && n == 0, "empty list");
    CHECK(!lc_parse_i64_list("1,0", 1, 10, v, 4, &n), "an entry under lo");
}

static void test_duration(void) {
    char b[32];
    const struct {
        double s;
        const char *want;
    } cases[] = {{0, "0s"}, {42.4, "42s"}, {59.6, "1m00s"}, {185, "3m05s"}, {7620, "2h07m"},
                 {360000, "100h00m"}, {-1, "?"}, {NAN, "?"}, {INFINITY, "?"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(strcmp(lc_format_duration(cases[i].s, b, sizeof b), cases[i].want) == 0, "%g -> '%s', want '%s'",
              cases[i].s, b, cases[i].want);
    CHECK(strcmp(lc_format_duration(1e300, b, sizeof b), "?") != 0, "a huge duration is still a number");
}

static void test_join(void) {
    char *argv[] = {"report", "--quick", "-t", "2"};
    char b[64], small[12];
    CHECK(strcmp(lc_join_args("longctx", 4, argv, b, sizeof b), "longctx report --quick -t 2") == 0, "'%s'", b);
    CHECK(strcmp(lc_join_args("longctx", 4, argv, small, sizeof small), "longctx rep") == 0, "cut: '%s'", small);
    CHECK(strcmp(lc_join_args(NULL, 2, argv, b, sizeof b), "report --quick") == 0, "no program: '%s'", b);
}

static void test_nearest(void) {
    CHECK(lc_edit_distance("--tmep", 6, "--temp", 6) == 1, "a swap is one edit");
    CHECK(lc_edit_distance("kitten", 6, "sitting", 7) == 3, "kitten/sitting");
    CHECK(lc_edit_distance("", 0, "abc", 3) == 3, "from empty");
    char longw[80];
    memset(longw, 'a', sizeof longw);
    CHECK(lc_edit_distance(longw, 80, "a", 1) == -1, "over 64 bytes");
    CHECK(lc_typo_distance("--temp", 6, "--temp", 6) == -1, "equal is no typo");
    CHECK(lc_typo_distance("ab", 2, "xy", 2) == -1, "too far");
    const char *const words[] = {"analyze", "bench", "chat", "convert", "gen-data"};
    CHECK(lc_nearest_word("benhc", words, 5) == words[1], "benhc");
    CHECK(lc_nearest_word("gen_data", words, 5) == words[4], "gen_data");
    CHECK(lc_nearest_word("zzz", words, 5) == NULL, "nothing near");
    CHECK(lc_nearest_word(NULL, words, 5) == NULL, "NULL word");
}

static void test_progress(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lc_progress_line p;
    lc_progress_line_init(&p, f);
    CHECK(!p.tty, "a memory stream is not a terminal");
    lc_progress_line_update(&p, 1, 4, "steps");
    fflush(f);
    CHECK(len == 0, "nothing drawn off a terminal");
    p.tty = true;
    p.start -= 10; /* 10 s ago, a quarter done: 30 s left */
    CHECK(lc_progress_line_cb(&p, 1, 4, "steps"), "the callback goes on");
    fflush(f);
    CHECK(buf && strstr(buf, "\r\033[Ksteps 1/4 (25%) elapsed 10s ETA 30s"), "drawn: '%s'", buf ? buf : "");
    const size_t once = len;
    lc_progress_line_update(&p, 2, 4, "steps"); /* within 0.1 s: not redrawn */
    fflush(f);
    CHECK(len == once, "redrawn within 0.1 s");
    lc_progress_line_update(&p, 4, 4, "steps"); /* the end always draws */
    fflush(f);
    CHECK(len > once && strstr(buf + once, "4/4 (100%)"), "the last update draws");
    lc_progress_line_clear(&p);
    fflush(f);
    CHECK(len >= 4 && memcmp(buf + len - 4, "\r\033[K", 4) == 0 && !p.drawn, "cleared");
    fclose(f);
    free(buf);
}

/* Off a terminal with stages: one line each time the text before ':' changes. */
static void test_progress_stages(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    lc_progress_line p;
    lc_progress_line_init(&p, f);
    p.stages = "longctx report";
    p.start -= 3;
    lc_progress_line_update(&p, 1, 540, "report 1/6 memory: naive at 1K");
    lc_progress_line_update(&p, 2, 540, "report 1/6 memory: flash at 1K");
    lc_progress_line_update(&p, 3, 540, "report 2/6 techniques: grid");
    lc_progress_line_update(&p, 540, 540, "done");
    fclose(f);
    CHECK(buf && strcmp(buf, "longctx report: report 1/6 memory (3 s elapsed, about 540 s planned)\n"
                             "longctx report: report 2/6 techniques (3 s elapsed, about 540 s planned)\n") == 0,
          "'%s'", buf ? buf : "");
    free(buf);
}

int main(void) {
    test_progress_stages();
    test_parse_i64();
    test_parse_double();
    test_parse_list();
    test_duration();
    test_nearest();
    test_join();
    test_progress();
    return lc_test_finish("test_util_text");
}
