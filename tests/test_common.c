/* Common helpers: f16/bf16 conversion, q8_0, dtype sizes, errors, rng. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "longctx/json.h"
#include "longctx/sys.h"
#include "test_util.h"

static void test_f16(void) {
    /* Exhaustive: every finite f16 converts to f32 and back unchanged. */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t x = (uint16_t)h;
        if (((x >> 10) & 0x1f) == 0x1f && (x & 0x3ff)) continue; /* nan */
        float f = lc_f16_to_f32(x);
        if (lc_f32_to_f16(f) != x) bad++;
    }
    CHECK(bad == 0, "%d f16 values failed the round trip", bad);
    CHECK(lc_f16_to_f32(0x3c00) == 1.0f, "1.0");
    CHECK(lc_f16_to_f32(0xc000) == -2.0f, "-2.0");
    CHECK(lc_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(lc_f32_to_f16(65520.0f) == 0x7c00, "65520 rounds to inf");
    CHECK(lc_f32_to_f16(65504.0f) == 0x7bff, "max f16");
    CHECK(lc_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00, "tie rounds to even");
    CHECK(lc_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3c02, "tie rounds to even (up)");
    CHECK(isnan(lc_f16_to_f32(lc_f32_to_f16(NAN))), "nan stays nan");
    /* Row conversions (F16C or scalar) agree with the scalar path. */
    lc_rng r;
    lc_rng_seed(&r, 1);
    float src[67], back[67], ref[67];
    uint16_t h[67];
    for (int i = 0; i < 67; i++) src[i] = (lc_rng_uniform(&r) - 0.5f) * 1000.0f;
    lc_f32_to_f16_row(src, h, 67);
    lc_f16_to_f32_row(h, back, 67);
    for (int i = 0; i < 67; i++) ref[i] = lc_f16_to_f32(lc_f32_to_f16(src[i]));
    CHECK(memcmp(back, ref, sizeof back) == 0, "row conversion equals scalar conversion");
    CHECK(lc_bf16_to_f32(lc_f32_to_bf16(1.5f)) == 1.5f, "bf16 1.5");
}

static void test_q8_0(void) {
    lc_rng r;
    lc_rng_seed(&r, 2);
    float x[64], y[64];
    lc_block_q8_0 b[2];
    for (int i = 0; i < 64; i++) x[i] = lc_rng_normal(&r) * (i < 32 ? 1.0f : 100.0f);
    lc_quantize_row_q8_0(x, b, 64);
    lc_dequantize_row_q8_0(b, y, 64);
    for (int blk = 0; blk < 2; blk++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[blk * 32 + i]));
        /* error bound: half a quantisation step, plus the f16 rounding of the scale */
        float bound = amax / 127.0f * 0.5f + amax * 1e-3f;
        for (int i = 0; i < 32; i++)
            CHECK(fabsf(x[blk * 32 + i] - y[blk * 32 + i]) <= bound, "q8_0 error %g > %g", fabsf(x[blk * 32 + i] - y[blk * 32 + i]), bound);
    }
    size_t bytes;
    lc_error err;
    CHECK_OK(lc_dtype_row_bytes(LC_DTYPE_Q8_0, 64, &bytes, &err), &err);
    CHECK(bytes == 68, "q8_0 row bytes %zu", bytes);
    CHECK(lc_dtype_row_bytes(LC_DTYPE_Q8_0, 33, &bytes, &err) == LC_ERR_INVALID_ARG, "q8_0 needs whole blocks");
    CHECK(lc_dtype_row_bytes(LC_DTYPE_F32, INT64_MAX, &bytes, &err) == LC_ERR_TOO_LARGE, "overflow refused");
}

static void test_misc(void) {
    lc_error err;
    CHECK(lc_fail(&err, LC_ERR_IO, "x=%d", 5) == LC_ERR_IO && strcmp(err.msg, "x=5") == 0, "lc_fail");
    CHECK(lc_fail(NULL, LC_ERR_IO, "x") == LC_ERR_IO, "lc_fail(NULL)");
    lc_dtype t;
    CHECK(lc_dtype_parse("q8_0", &t) && t == LC_DTYPE_Q8_0, "parse q8_0");
    CHECK(!lc_dtype_parse("q4", &t), "parse unknown");
    lc_rng a, b;
    lc_rng_seed(&a, 7);
    lc_rng_seed(&b, 7);
    CHECK(lc_rng_u64(&a) == lc_rng_u64(&b), "rng deterministic");
    double mean = 0;
    for (int i = 0; i < 10000; i++) mean += lc_rng_normal(&a);
    CHECK(fabs(mean / 10000) < 0.05, "normal mean %g", mean / 10000);
    char buf[32];
    CHECK(strcmp(lc_format_bytes(2.0 * 1099511627776.0, buf, sizeof buf), "2.0 TiB") == 0, "format %s", buf);
    size_t n = 0;
    CHECK(lc_parse_bytes("512", &n) && n == 512, "parse 512: %zu", n);
    CHECK(lc_parse_bytes("64k", &n) && n == 65536, "parse 64k: %zu", n);
    CHECK(lc_parse_bytes("1.5M", &n) && n == 1572864, "parse 1.5M: %zu", n);
    CHECK(lc_parse_bytes("2GiB", &n) && n == ((size_t)2 << 30), "parse 2GiB: %zu", n);
    CHECK(lc_parse_bytes("8MB", &n) && n == ((size_t)8 << 20), "parse 8MB: %zu", n);
    static const char *const bad[] = {"", "x", "-1", "1X", "1KBB", "2M ", "nan", "2000000G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(!lc_parse_bytes(bad[i], &n), "refused '%s'", bad[i]);
    CHECK(isinf(lc_logaddexp(-INFINITY, -INFINITY)), "logaddexp -inf");
    CHECK(fabsf(lc_logaddexp(0.0f, 0.0f) - logf(2.0f)) < 1e-6f, "logaddexp");
    CHECK(lc_rss_bytes() > 0, "rss readable");
}

/* The JSON writer's strings: escapes, well-formed UTF-8 kept, every byte of
 * an ill-formed sequence (RFC 3629: stray continuation, truncated, overlong,
 * surrogate, past U+10FFFF) written as U+FFFD, so the output always parses. */
static void test_json_strings(void) {
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"a\"b\\\n\t\x01", 7, "\"a\\\"b\\\\\\n\\t\\u0001\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"\x80x", 2, "\"\\ufffdx\""},
        {"x\xc3", 2, "\"x\\ufffd\""},
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
        {"\xf5", 1, "\"\\ufffd\""},
        {"\xe2\x82x", 3, "\"\\ufffd\\ufffdx\""},
        {"\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""},
    };
    for (size_t i = 0; i < LC_ARRAY_LEN(cases); i++) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (!f) {
            CHECK(false, "open_memstream");
            return;
        }
        lc_json_writer w;
        lc_json_init(&w, f, false);
        lc_json_strn(&w, cases[i].in, cases[i].len);
        fclose(f);
        CHECK(buf && strcmp(buf, cases[i].want) == 0, "json string %zu: got '%s', want '%s'", i, buf ? buf : "",
              cases[i].want);
        free(buf);
    }
}

/* lc_read_stream: everything up to the limit, exactly; more is refused. */
static void test_read_stream(void) {
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 300000};
    for (size_t k = 0; k < LC_ARRAY_LEN(sizes); k++) {
        const size_t n = sizes[k];
        FILE *f = tmpfile();
        CHECK(f != NULL, "tmpfile");
        if (!f) return;
        for (size_t i = 0; i < n; i++) fputc((int)(i * 7 % 251), f);
        for (int lim = 0; lim < 3; lim++) {
            const size_t max = lim == 0 ? n : lim == 1 ? n + 1 : (n ? n - 1 : 0);
            rewind(f);
            char *buf = (char *)&k;
            size_t len = 12345;
            lc_error err;
            const lc_status st = lc_read_stream(f, "test", max, &buf, &len, &err);
            if (n <= max) {
                bool same = st == LC_OK && buf && len == n && buf[n] == '\0';
                for (size_t i = 0; same && i < n; i++) same = (unsigned char)buf[i] == i * 7 % 251;
                CHECK(same, "%zu bytes, limit %zu: read exactly (%s)", n, max, st == LC_OK ? "ok" : err.msg);
            } else {
                CHECK(st == LC_ERR_TOO_LARGE && !buf && len == 0 && strstr(err.msg, "test: larger than"),
                      "%zu bytes, limit %zu: refused (%s)", n, max, err.msg);
            }
            free(buf == (char *)&k ? NULL : buf);
        }
        fclose(f);
    }
    lc_error err;
    char *buf = NULL;
    CHECK(lc_read_stream(NULL, "x", 10, &buf, NULL, &err) == LC_ERR_INVALID_ARG, "NULL stream");
}

/* lc_read_input: a file, "-" (standard input, here a file put in its place),
 * a missing file, a file over the limit. */
static void test_read_input(void) {
    char path[] = "/tmp/lc_read_input_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0) return;
    const char text[] = "one\ntwo\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "write");
    close(fd);
    char *buf = NULL;
    size_t len = 0;
    lc_error err;
    CHECK(lc_read_input(path, 64, &buf, &len, &err) == LC_OK && len == 8 && strcmp(buf, text) == 0, "file");
    free(buf);
    CHECK(lc_read_input(path, 7, &buf, &len, &err) == LC_ERR_TOO_LARGE && !buf && strstr(err.msg, path),
          "over the limit: %s", err.msg);
    CHECK(lc_read_input("/nonexistent/x", 64, &buf, &len, &err) == LC_ERR_IO && strstr(err.msg, "cannot open"),
          "missing: %s", err.msg);
    if (freopen(path, "rb", stdin)) {
        CHECK(lc_read_input("-", 64, &buf, &len, &err) == LC_OK && len == 8 && strcmp(buf, text) == 0, "stdin");
        free(buf);
    }
    unlink(path);
}

/* lc_huge_page_share: -1 for nothing or an address no mapping holds, a
 * share in [0, 1] for memory that is mapped; a region in huge pages (when
 * the kernel gives them to an aligned, advised, touched region) counts. */
static void test_huge_page_share(void) {
    CHECK(lc_huge_page_share(NULL, 64) == -1, "NULL");
    int on_stack = 1;
    CHECK(lc_huge_page_share(&on_stack, 0) == -1, "no bytes");
    const double s = lc_huge_page_share(&on_stack, sizeof on_stack);
    if (s == -1) {
        printf("note: no /proc/self/smaps here: lc_huge_page_share not checked further\n");
        return;
    }
    CHECK(s >= 0 && s <= 1, "the stack's share %g", s);
    const size_t len = (size_t)8 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap");
    if (p == MAP_FAILED) return;
    char *a = (char *)(((uintptr_t)p + ((size_t)2 << 20) - 1) & ~(uintptr_t)(((size_t)2 << 20) - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, (size_t)4 << 20, MADV_HUGEPAGE);
#endif
    memset(a, 1, (size_t)4 << 20);
    const double h = lc_huge_page_share(a, (size_t)4 << 20);
    CHECK(h >= 0 && h <= 1, "an anonymous region's share %g", h);
    printf("4 MiB advised MADV_HUGEPAGE: %.0f %% in huge pages\n", 100 * h);
    CHECK(munmap(p, len) == 0, "munmap");
    CHECK(lc_huge_page_share(a, 4096) == -1, "an unmapped address: %g", lc_huge_page_share(a, 4096));
}

int main(void) {
    test_huge_page_share();
    test_read_stream();
    test_read_input();
    test_json_strings();
    test_f16();
    test_q8_0();
    test_misc();
    return lc_test_finish("test_common");
}
