/*
 * RoPE: frequencies and rotations of every scaling method against the
 * independent float64 reference (tools/rope_reference.py ->
 * tests/data/rope/reference.txt), the algebra (norms, relative positions,
 * transpose, composition), the cache (table vs on the fly, growth, dynamic
 * NTK), AVX2 vs scalar, the llama.cpp-named options, bad input, and the
 * legacy cos/sin tables stored in a real llama2.c checkpoint.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "longctx/rope.h"
#include "rope/rope_internal.h"
#include "test_util.h"

#define MAX_HD 256

static void random_vec(lc_rng *r, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = lc_rng_normal(r);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static lc_rope_config make_config(lc_rope_layout layout, int32_t n_dims, float base, lc_rope_scaling sc, float s,
                                  int64_t orig) {
    lc_rope_config c;
    lc_rope_config_init(&c, n_dims);
    c.layout = layout;
    c.freq_base = base;
    c.scaling = sc;
    c.factor = s;
    c.orig_ctx = orig;
    return c;
}

/* ---- The reference file ----------------------------------------------------- */

typedef struct {
    char name[96];
    lc_rope_config cfg;
    int32_t head_dim;
    int64_t cur_len;
    double theta[LC_ROPE_MAX_DIMS / 2];
    double mscale;
    float x[MAX_HD];
    int n_rot;
    int64_t pos[8];
    float rot[8][MAX_HD];
} ref_case;

/* Reads n doubles after the keyword at the start of line. */
static bool read_values(const char *line, const char *key, double *out, int n) {
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != ' ') return false;
    const char *p = line + kl;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p) return false;
        p = end;
    }
    return true;
}

static int read_reference(ref_case *cases, int max_cases) {
    char path[512];
    snprintf(path, sizeof path, "%s/rope/reference.txt", LC_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    double vals[MAX_HD + 1];
    int n = 0;
    ref_case *c = NULL;
    while (fgets(line, (int)cap, f)) {
        if (line[0] == '#') continue;
        if (strncmp(line, "case ", 5) == 0) {
            CHECK(n < max_cases, "too many cases");
            if (n >= max_cases) break;
            c = &cases[n];
            memset(c, 0, sizeof *c);
            char scaling[32];
            int layout, n_dims, hd;
            long long orig, cur;
            double base, s, ext, attn, bf, bs;
            int got = sscanf(line + 5, "%95s %d %d %d %lf %31s %lf %lld %lf %lf %lf %lf %lld", c->name, &layout, &n_dims,
                             &hd, &base, scaling, &s, &orig, &ext, &attn, &bf, &bs, &cur);
            CHECK(got == 13, "bad case line: %s", line);
            lc_rope_config_init(&c->cfg, n_dims);
            c->cfg.layout = (lc_rope_layout)layout;
            c->cfg.freq_base = (float)base;
            CHECK(lc_rope_scaling_parse(scaling, &c->cfg.scaling), "scaling %s", scaling);
            c->cfg.factor = (float)s;
            c->cfg.orig_ctx = orig;
            c->cfg.ext_factor = (float)ext;
            c->cfg.attn_factor = (float)attn;
            c->cfg.beta_fast = (float)bf;
            c->cfg.beta_slow = (float)bs;
            c->head_dim = hd;
            c->cur_len = cur;
        } else if (c && read_values(line, "theta", c->theta, c->cfg.n_dims / 2)) {
        } else if (c && read_values(line, "mscale", &c->mscale, 1)) {
        } else if (c && read_values(line, "x", vals, c->head_dim)) {
            for (int i = 0; i < c->head_dim; i++) c->x[i] = (float)vals[i];
        } else if (c && read_values(line, "rot", vals, c->head_dim + 1)) {
            CHECK(c->n_rot < 8, "too many rot lines");
            c->pos[c->n_rot] = (int64_t)vals[0];
            for (int i = 0; i < c->head_dim; i++) c->rot[c->n_rot][i] = (float)vals[i + 1];
            c->n_rot++;
        } else if (c && strncmp(line, "end", 3) == 0) {
            n++;
            c = NULL;
        } else {
            CHECK(false, "unparsed line: %.60s", line);
        }
    }
    free(line);
    fclose(f);
    return n;
}

static void test_reference(void) {
    static ref_case cases[32];
    int n = read_reference(cases, 32);
    CHECK(n >= 17, "reference cases read: %d", n);
    lc_error err;
    double worst_rot = 0.0, worst_theta = 0.0;
    for (int k = 0; k < n; k++) {
        ref_case *rc = &cases[k];
        const int32_t np = rc->cfg.n_dims / 2;
        double th[LC_ROPE_MAX_DIMS / 2], m;
        CHECK_OK(lc_rope_freqs_f64(&rc->cfg, rc->cur_len, th, &m, &err), &err);
        double worst = 0.0;
        for (int32_t i = 0; i < np; i++) worst = fmax(worst, fabs(th[i] - rc->theta[i]) / rc->theta[i]);
        CHECK(worst < 1e-10, "%s: theta (f64) rel err %.3g", rc->name, worst);
        worst_theta = fmax(worst_theta, worst);
        /* 1e-7: attn_factor is an f32 field (0.9f != 0.9) */
        CHECK(fabs(m - rc->mscale) < 1e-7 * rc->mscale, "%s: mscale %.17g vs %.17g", rc->name, m, rc->mscale);
        float thf[LC_ROPE_MAX_DIMS / 2], mf;
        CHECK_OK(lc_rope_freqs(&rc->cfg, rc->cur_len, thf, &mf, &err), &err);
        worst = 0.0;
        for (int32_t i = 0; i < np; i++) worst = fmax(worst, fabs(thf[i] - rc->theta[i]) / rc->theta[i]);
        CHECK(worst < 1e-6, "%s: theta (f32) rel err %.3g", rc->name, worst);

        /* Through the cache: table (pos < 4100) and on the fly (beyond); both kernels. */
        for (int scalar = 0; scalar < 2; scalar++) {
            lc_rope_cache *cache = NULL;
            CHECK_OK(lc_rope_cache_create(&rc->cfg, 4100, &cache, &err), &err);
            if (!cache) continue;
            lc_rope_cache_force_scalar(cache, scalar);
            CHECK_OK(lc_rope_cache_set_length(cache, rc->cur_len, &err), &err);
            for (int p = 0; p < rc->n_rot; p++) {
                float y[MAX_HD];
                memcpy(y, rc->x, sizeof y);
                CHECK(lc_rope_apply(cache, y, 1, rc->head_dim, rc->pos[p]) == LC_OK, "apply");
                double e = lc_test_rel_err(y, rc->rot[p], (size_t)rc->head_dim, 1e-6);
                worst_rot = fmax(worst_rot, e);
                CHECK(e < 1e-5, "%s pos %lld (%s): rel err %.3g", rc->name, (long long)rc->pos[p],
                      scalar ? "scalar" : "dispatch", e);
                /* untouched tail of a partial rotation: bit-exact */
                CHECK(memcmp(y + rc->cfg.n_dims, rc->x + rc->cfg.n_dims,
                             (size_t)(rc->head_dim - rc->cfg.n_dims) * sizeof(float)) == 0,
                      "%s: dims past n_dims untouched", rc->name);
            }
            lc_rope_cache_free(cache);
        }

        /* A table block at the top positions (the angle-addition recurrence
         * from p0 = 1048575 - 200) against the reference at 1048575. */
        if (rc->pos[rc->n_rot - 1] == 1048575 && rc->cfg.scaling != LC_ROPE_SCALING_DYNAMIC_NTK) {
            static float rows[LC_ROPE_BLOCK][LC_ROPE_MAX_DIMS];
            lc_rope_fill_rows(th, np, m, 1048575 - 200, LC_ROPE_BLOCK, &rows[0][0]);
            float y[MAX_HD];
            memcpy(y, rc->x, sizeof y);
            /* rows are packed [2][np]: row k starts at k * 2 * np */
            lc_rope_rotate_row(y, 1, rc->head_dim, np, rc->cfg.layout, &rows[0][0] + (size_t)200 * 2 * np, false);
            double e = lc_test_rel_err(y, rc->rot[rc->n_rot - 1], (size_t)rc->head_dim, 1e-6);
            CHECK(e < 1e-5, "%s: recurrence row at 1048575: rel err %.3g", rc->name, e);
            worst_rot = fmax(worst_rot, e);
        }
    }
    fprintf(stderr, "reference: %d cases, max rel err theta (f64) %.2g, rotations (f32, positions up to 1048575) %.2g\n",
            n, worst_theta, worst_rot);
}

/* ---- Algebra ---------------------------------------------------------------- */

static const lc_rope_scaling all_methods[] = {LC_ROPE_SCALING_NONE, LC_ROPE_SCALING_LINEAR, LC_ROPE_SCALING_NTK,
                                              LC_ROPE_SCALING_DYNAMIC_NTK, LC_ROPE_SCALING_YARN};

static void test_norms_and_relative_position(void) {
    lc_rng r;
    lc_rng_seed(&r, 7);
    lc_error err;
    for (int li = 0; li < 2; li++) {
        for (size_t mi = 0; mi < LC_ARRAY_LEN(all_methods); mi++) {
            lc_rope_config c = make_config((lc_rope_layout)li, 64, 10000.0f, all_methods[mi], 4.0f, 2048);
            lc_rope_cache *cache = NULL;
            CHECK_OK(lc_rope_cache_create(&c, 1024, &cache, &err), &err);
            if (!cache) continue;
            const double m = lc_rope_cache_mscale(cache);
            if (all_methods[mi] != LC_ROPE_SCALING_YARN) CHECK(m == 1.0, "mscale 1 for %s", lc_rope_scaling_name(c.scaling));
            else CHECK(fabs(m - (1.0 + 0.1 * log(4.0))) < 1e-6, "yarn mscale %g", m);
            const int32_t hd = 72, H = 3;
            float q[3 * 72], k[3 * 72], qa[3 * 72], ka[3 * 72];
            random_vec(&r, q, (size_t)H * hd);
            random_vec(&r, k, (size_t)H * hd);
            /* norms: |m R x| = m |x|, for table and on-the-fly positions */
            const int64_t positions[] = {0, 1, 999, 1023, 1024, 123457, 1048575};
            for (size_t p = 0; p < LC_ARRAY_LEN(positions); p++) {
                memcpy(qa, q, sizeof q);
                lc_rope_apply(cache, qa, H, hd, positions[p]);
                /* the rotated dims scale by m, the 8 dims past n_dims stay */
                double rot2 = 0.0, rest2 = 0.0;
                for (int32_t h = 0; h < H; h++) {
                    rot2 += dot(q + h * hd, q + h * hd, 64);
                    rest2 += dot(q + h * hd + 64, q + h * hd + 64, (size_t)hd - 64);
                }
                double n0 = sqrt(m * m * rot2 + rest2), n1 = sqrt(dot(qa, qa, sizeof q / 4));
                CHECK(fabs(n1 - n0) < 1e-5 * n0, "%s/%d pos %lld: norm %g vs %g", lc_rope_scaling_name(c.scaling),
                      li, (long long)positions[p], n1, n0);
            }
            /* q(mpos) . k(npos) depends only on mpos - npos (every method; dynamic
             * NTK at a fixed length is a static base). */
            const int64_t pairs[][2] = {{5, 2}, {1005, 1002}, {70003, 70000}, {1048575, 1048572}};
            double ref = 0.0;
            for (size_t p = 0; p < LC_ARRAY_LEN(pairs); p++) {
                memcpy(qa, q, sizeof q);
                memcpy(ka, k, sizeof k);
                lc_rope_apply(cache, qa, H, hd, pairs[p][0]);
                lc_rope_apply(cache, ka, H, hd, pairs[p][1]);
                double d = dot(qa, ka, (size_t)hd); /* head 0 */
                if (p == 0) ref = d;
                CHECK(fabs(d - ref) < 1e-4 * (fabs(ref) + 1.0), "%s/%d: q(%lld).k(%lld) = %.7g vs %.7g",
                      lc_rope_scaling_name(c.scaling), li, (long long)pairs[p][0], (long long)pairs[p][1], d, ref);
            }
            lc_rope_cache_free(cache);
        }
    }
}

/* Transpose: <m R x, y> = <x, (m R)^T y>; R^T R = m^2 I (identity when m = 1). */
static void test_transpose(void) {
    lc_rng r;
    lc_rng_seed(&r, 11);
    lc_error err;
    for (int li = 0; li < 2; li++) {
        for (size_t mi = 0; mi < LC_ARRAY_LEN(all_methods); mi++) {
            lc_rope_config c = make_config((lc_rope_layout)li, 96, 500000.0f, all_methods[mi], 8.0f, 4096);
            c.attn_factor = mi == 4 ? 0.8f : 1.0f;
            lc_rope_cache *cache = NULL;
            CHECK_OK(lc_rope_cache_create(&c, 512, &cache, &err), &err);
            if (!cache) continue;
            const double m = lc_rope_cache_mscale(cache);
            const int32_t hd = 100, H = 2;
            float x[200], y[200], rx[200], rty[200], back[200];
            random_vec(&r, x, 200);
            random_vec(&r, y, 200);
            const int64_t positions[] = {0, 3, 511, 512, 77777, -5};
            for (size_t p = 0; p < LC_ARRAY_LEN(positions); p++) {
                memcpy(rx, x, sizeof x);
                memcpy(rty, y, sizeof y);
                CHECK(lc_rope_apply(cache, rx, H, hd, positions[p]) == LC_OK, "apply");
                CHECK(lc_rope_apply_inverse(cache, rty, H, hd, positions[p]) == LC_OK, "apply_inverse");
                double a = dot(rx, y, 200), b = dot(x, rty, 200);
                CHECK(fabs(a - b) < 1e-5 * (fabs(a) + 10.0), "%s/%d pos %lld: <Rx,y> %.8g vs <x,R^T y> %.8g",
                      lc_rope_scaling_name(c.scaling), li, (long long)positions[p], a, b);
                memcpy(back, rx, sizeof rx);
                lc_rope_apply_inverse(cache, back, H, hd, positions[p]);
                for (int i = 0; i < 200; i++)
                    if (i % hd < 96) back[i] = (float)(back[i] / (m * m)); /* rotated dims only */
                double e = lc_test_rel_err(back, x, 200, 1e-6);
                CHECK(e < 1e-5, "%s/%d: R^T R x = m^2 x: rel err %.3g", lc_rope_scaling_name(c.scaling), li, e);
            }
            lc_rope_cache_free(cache);
        }
    }
    /* m = 1: apply_inverse undoes apply */
    lc_rope_config c = make_config(LC_ROPE_NORM, 64, 10000.0f, LC_ROPE_SCALING_LINEAR, 2.0f, 0);
    lc_rope_cache *cache = NULL;
    CHECK_OK(lc_rope_cache_create(&c, 64, &cache, &err), &err);
    float x[64], y[64];
    random_vec(&r, x, 64);
    memcpy(y, x, sizeof x);
    lc_rope_apply(cache, y, 1, 64, 40);
    lc_rope_apply_inverse(cache, y, 1, 64, 40);
    CHECK(lc_test_rel_err(y, x, 64, 1e-6) < 1e-6, "inverse is the inverse when m = 1");
    lc_rope_cache_free(cache);
}

/* rotate_delta(a) after apply(p) equals apply(p + a) within 1e-5. */
static void test_rotate_delta(void) {
    lc_rng r;
    lc_rng_seed(&r, 13);
    lc_error err;
    for (int li = 0; li < 2; li++) {
        for (size_t mi = 0; mi < LC_ARRAY_LEN(all_methods); mi++) {
            lc_rope_config c = make_config((lc_rope_layout)li, 128, 10000.0f, all_methods[mi], 4.0f, 4096);
            lc_rope_cache *cache = NULL;
            CHECK_OK(lc_rope_cache_create(&c, 2048, &cache, &err), &err);
            if (!cache) continue;
            float x[4 * 128], a[4 * 128], b[4 * 128], d2[4 * 128];
            random_vec(&r, x, sizeof x / 4);
            const int64_t cases[][2] = {{0, 1}, {100, 37}, {2000, -1500}, {1000, 1000000}, {1048575, -1048575},
                                        {5, -9}};
            for (size_t k = 0; k < LC_ARRAY_LEN(cases); k++) {
                const int64_t p = cases[k][0], delta = cases[k][1];
                memcpy(a, x, sizeof x);
                memcpy(b, x, sizeof x);
                lc_rope_apply(cache, a, 4, 128, p);
                memcpy(d2, a, sizeof a);
                CHECK(lc_rope_cache_rotate_delta(cache, a, 4, 128, delta) == LC_OK, "rotate_delta");
                lc_rope_apply(cache, b, 4, 128, p + delta);
                double e = lc_test_rel_err(a, b, sizeof x / 4, 1e-6);
                CHECK(e < 1e-5, "%s/%d: apply(%lld) then delta %lld vs apply(%lld): rel err %.3g",
                      lc_rope_scaling_name(c.scaling), li, (long long)p, (long long)delta, (long long)(p + delta), e);
                /* the config variant (theta NULL: double) agrees, except for
                 * dynamic NTK whose base depends on the cache's length */
                CHECK(lc_rope_rotate_delta(&c, NULL, d2, 4, 128, delta) == LC_OK, "rotate_delta (config)");
                e = lc_test_rel_err(d2, b, sizeof x / 4, 1e-6);
                CHECK(e < 1e-5, "%s: config rotate_delta %lld: rel err %.3g", lc_rope_scaling_name(c.scaling),
                      (long long)delta, e);
            }
            /* f32 theta: fine for small deltas */
            float thf[64];
            CHECK_OK(lc_rope_freqs(&c, 0, thf, NULL, &err), &err);
            memcpy(a, x, sizeof x);
            memcpy(b, x, sizeof x);
            lc_rope_apply(cache, a, 4, 128, 10);
            lc_rope_rotate_delta(&c, thf, a, 4, 128, 3);
            lc_rope_apply(cache, b, 4, 128, 13);
            CHECK(lc_test_rel_err(a, b, sizeof x / 4, 1e-6) < 1e-5, "f32 theta, delta 3");
            lc_rope_cache_free(cache);
        }
    }
}

/* ---- The cache ---------------------------------------------------------------- */

static void test_cache(void) {
    lc_rng r;
    lc_rng_seed(&r, 17);
    lc_error err;
    lc_rope_config c = make_config(LC_ROPE_NEOX, 128, 10000.0f, LC_ROPE_SCALING_YARN, 4.0f, 2048);
    lc_rope_cache *none = NULL, *small = NULL;
    CHECK_OK(lc_rope_cache_create(&c, 0, &none, &err), &err);
    CHECK_OK(lc_rope_cache_create(&c, 300, &small, &err), &err);
    if (!none || !small) return;
    CHECK(lc_rope_cache_n_pos(none) == 0 && lc_rope_cache_n_pos(small) == 300, "n_pos %lld %lld",
          (long long)lc_rope_cache_n_pos(none), (long long)lc_rope_cache_n_pos(small));
    size_t b0 = lc_rope_cache_bytes(small);
    CHECK(b0 >= 2 * (size_t)LC_ROPE_BLOCK * 128 * sizeof(float), "bytes %zu", b0);
    CHECK_OK(lc_rope_cache_reserve(small, 3000, &err), &err);
    CHECK(lc_rope_cache_n_pos(small) == 3000, "reserve grows n_pos");
    CHECK(lc_rope_cache_bytes(small) > b0, "reserve grows bytes");
    CHECK_OK(lc_rope_cache_reserve(small, 10, &err), &err);
    CHECK(lc_rope_cache_n_pos(small) == 3000, "reserve never shrinks");
    /* table rows (grown in two steps) equal rows computed on the fly */
    float x[2 * 130], a[2 * 130], b[2 * 130], tok[5][2 * 130];
    random_vec(&r, x, sizeof x / 4);
    double worst = 0.0;
    for (int64_t p = 0; p < 3100; p += 7) {
        memcpy(a, x, sizeof x);
        memcpy(b, x, sizeof x);
        lc_rope_apply(small, a, 2, 130, p);
        lc_rope_apply(none, b, 2, 130, p);
        worst = fmax(worst, lc_test_rel_err(a, b, sizeof x / 4, 1e-6));
    }
    CHECK(worst < 1e-6, "table vs on the fly: rel err %.3g", worst);
    /* apply_seq = apply per token */
    for (int t = 0; t < 5; t++) memcpy(tok[t], x, sizeof x);
    CHECK(lc_rope_apply_seq(small, &tok[0][0], 5, 2, 130, 2998) == LC_OK, "apply_seq");
    for (int t = 0; t < 5; t++) {
        memcpy(a, x, sizeof x);
        lc_rope_apply(small, a, 2, 130, 2998 + t);
        CHECK(memcmp(a, tok[t], sizeof a) == 0, "apply_seq token %d", t);
    }
    /* every head rotates alike */
    memcpy(a, x, sizeof x);
    memcpy(a + 130, x, 130 * sizeof(float));
    lc_rope_apply(small, a, 2, 130, 1234);
    CHECK(memcmp(a, a + 130, 130 * sizeof(float)) == 0, "heads rotate alike");
    CHECK(lc_rope_cache_config(small)->scaling == LC_ROPE_SCALING_YARN, "config kept");
    lc_rope_cache_free(none);
    lc_rope_cache_free(small);
    lc_rope_cache_free(NULL);
}

static void test_dynamic_ntk(void) {
    lc_rng r;
    lc_rng_seed(&r, 19);
    lc_error err;
    lc_rope_config dyn = make_config(LC_ROPE_NORM, 64, 10000.0f, LC_ROPE_SCALING_DYNAMIC_NTK, 4.0f, 1024);
    lc_rope_config none = make_config(LC_ROPE_NORM, 64, 10000.0f, LC_ROPE_SCALING_NONE, 1.0f, 0);
    lc_rope_cache *cd = NULL, *cn = NULL;
    CHECK_OK(lc_rope_cache_create(&dyn, 2048, &cd, &err), &err);
    CHECK_OK(lc_rope_cache_create(&none, 2048, &cn, &err), &err);
    if (!cd || !cn) return;
    float x[64], a[64], b[64];
    random_vec(&r, x, 64);
    /* within the original context: plain RoPE, table in use */
    CHECK_OK(lc_rope_cache_set_length(cd, 1000, &err), &err);
    CHECK(lc_rope_cache_n_pos(cd) == 2048, "table fresh within orig ctx");
    memcpy(a, x, sizeof x);
    memcpy(b, x, sizeof x);
    lc_rope_apply(cd, a, 1, 64, 900);
    lc_rope_apply(cn, b, 1, 64, 900);
    CHECK(memcmp(a, b, sizeof a) == 0, "dynamic NTK within orig ctx = none");
    /* past it: base grows; table stale; angles match lc_rope_freqs(L) */
    CHECK_OK(lc_rope_cache_set_length(cd, 3000, &err), &err);
    CHECK(lc_rope_cache_n_pos(cd) == 0, "table stale past orig ctx");
    double th[32];
    CHECK_OK(lc_rope_freqs_f64(&dyn, 3000, th, NULL, &err), &err);
    const double *cth = lc_rope_cache_theta(cd);
    CHECK(memcmp(th, cth, sizeof th) == 0, "cache theta = freqs(3000)");
    double s_dyn = 4.0 * 3000 / 1024 - 3.0, base = 10000.0 * pow(s_dyn, 64.0 / 62.0);
    CHECK(fabs(th[1] - pow(base, -2.0 / 64)) < 1e-12, "dynamic base' = base * s'^(d/(d-2))");
    memcpy(a, x, sizeof x);
    lc_rope_apply(cd, a, 1, 64, 2999);
    float ang_ref[64];
    memcpy(ang_ref, x, sizeof x);
    for (int i = 0; i < 32; i++) {
        double ang = 2999.0 * th[i], c = cos(ang), s = sin(ang);
        ang_ref[2 * i] = (float)(x[2 * i] * c - x[2 * i + 1] * s);
        ang_ref[2 * i + 1] = (float)(x[2 * i] * s + x[2 * i + 1] * c);
    }
    CHECK(lc_test_rel_err(a, ang_ref, 64, 1e-6) < 1e-5, "dynamic rotation at L = 3000");
    /* back within: rebuilt */
    CHECK_OK(lc_rope_cache_set_length(cd, 10, &err), &err);
    CHECK(lc_rope_cache_n_pos(cd) == 2048, "table rebuilt");
    memcpy(a, x, sizeof x);
    lc_rope_apply(cd, a, 1, 64, 900);
    CHECK(memcmp(a, b, sizeof a) == 0, "rebuilt table = none");
    /* set_length is a no-op for static methods */
    CHECK_OK(lc_rope_cache_set_length(cn, 1 << 20, &err), &err);
    CHECK(lc_rope_cache_n_pos(cn) == 2048, "static method ignores set_length");
    lc_rope_cache_free(cd);
    lc_rope_cache_free(cn);
}

/* The AVX2 kernel equals the scalar one on awkward pair counts, both layouts
 * and directions, several heads, head_dim > n_dims. */
static void test_kernels(void) {
#if defined(LC_HAVE_X86)
    if (lc_isa_best() < LC_ISA_AVX2) {
        fprintf(stderr, "no AVX2: kernel comparison skipped\n");
        return;
    }
    lc_rng r;
    lc_rng_seed(&r, 23);
    const int32_t pair_counts[] = {1, 3, 4, 5, 8, 9, 17, 32, 33, 64};
    for (size_t k = 0; k < LC_ARRAY_LEN(pair_counts); k++) {
        const int32_t np = pair_counts[k], hd = 2 * np + 3, H = 3;
        float cs[2 * 64], x[3 * 131], a[3 * 131], b[3 * 131];
        for (int32_t i = 0; i < np; i++) {
            double ang = lc_rng_uniform(&r) * 6.283;
            cs[i] = (float)(1.1 * cos(ang));
            cs[np + i] = (float)(1.1 * sin(ang));
        }
        random_vec(&r, x, (size_t)H * hd);
        for (int layout = 0; layout < 2; layout++) {
            for (int tr = 0; tr < 2; tr++) {
                memcpy(a, x, sizeof x);
                memcpy(b, x, sizeof x);
                lc_rope_rotate_row(a, H, hd, np, (lc_rope_layout)layout, cs, tr);
                lc_rope_rotate_row_avx2(b, H, hd, np, (lc_rope_layout)layout, cs, tr);
                double e = lc_test_rel_err(b, a, (size_t)H * hd, 1e-6);
                CHECK(e < 1e-6, "avx2 vs scalar: pairs %d layout %d transpose %d: %.3g", np, layout, tr, e);
            }
        }
    }
#endif
}

/* ---- Configuration, options, refusals --------------------------------------- */

static void test_validation(void) {
    lc_error err;
    lc_rope_config c;
    lc_rope_config_init(&c, 64);
    CHECK_OK(lc_rope_validate(&c, &err), &err);
    CHECK(c.freq_base == 10000.0f && c.beta_fast == 32.0f && c.beta_slow == 1.0f && c.ext_factor < 0 &&
              c.attn_factor == 1.0f && c.factor == 1.0f && c.layout == LC_ROPE_NORM,
          "defaults");
    lc_rope_config b;
#define REFUSED(stmt, msg)                                                                       \
    do {                                                                                         \
        b = c;                                                                                   \
        stmt;                                                                                    \
        CHECK(lc_rope_validate(&b, &err) == LC_ERR_INVALID_ARG, "refuses %s", msg);              \
        lc_rope_cache *rc_ = (lc_rope_cache *)1;                                                  \
        CHECK(lc_rope_cache_create(&b, 16, &rc_, &err) == LC_ERR_INVALID_ARG && rc_ == NULL,     \
              "cache refuses %s", msg);                                                          \
    } while (0)
    REFUSED(b.n_dims = 63, "odd n_dims");
    REFUSED(b.n_dims = 0, "n_dims 0");
    REFUSED(b.n_dims = 2048, "n_dims 2048");
    REFUSED(b.freq_base = 1.0f, "base 1");
    REFUSED(b.freq_base = NAN, "nan base");
    REFUSED(b.layout = (lc_rope_layout)7, "bad layout");
    REFUSED(b.scaling = LC_ROPE_SCALING_COUNT, "bad scaling");
    REFUSED((b.scaling = LC_ROPE_SCALING_LINEAR, b.factor = 0.5f), "factor < 1");
    REFUSED((b.scaling = LC_ROPE_SCALING_NTK, b.factor = INFINITY), "infinite factor");
    REFUSED((b.scaling = LC_ROPE_SCALING_YARN, b.factor = 4.0f), "yarn without orig_ctx");
    REFUSED((b.scaling = LC_ROPE_SCALING_DYNAMIC_NTK, b.factor = 4.0f), "dynamic NTK without orig_ctx");
    REFUSED((b.scaling = LC_ROPE_SCALING_YARN, b.factor = 4.0f, b.orig_ctx = 4096, b.beta_fast = 0.5f),
            "beta_fast < beta_slow");
    REFUSED((b.scaling = LC_ROPE_SCALING_YARN, b.factor = 4.0f, b.orig_ctx = 4096, b.ext_factor = 2.0f),
            "ext_factor 2");
    REFUSED(b.attn_factor = 0.0f, "attn_factor 0");
#undef REFUSED
    CHECK(strstr(err.msg, "attn_factor") != NULL, "message names the field: %s", err.msg);

    /* NONE ignores the factor */
    b = c;
    b.factor = 0.0f;
    CHECK_OK(lc_rope_validate(&b, &err), &err);
    /* bad arguments to the kernels change nothing */
    lc_rope_cache *rc = NULL;
    CHECK_OK(lc_rope_cache_create(&c, 8, &rc, &err), &err);
    float x[64], y[64];
    for (int i = 0; i < 64; i++) x[i] = y[i] = (float)i;
    CHECK(lc_rope_apply(rc, x, 1, 32, 5) == LC_ERR_INVALID_ARG, "head_dim < n_dims");
    CHECK(lc_rope_apply(rc, x, 0, 64, 5) == LC_ERR_INVALID_ARG, "no heads");
    CHECK(lc_rope_apply(NULL, x, 1, 64, 5) == LC_ERR_INVALID_ARG, "NULL cache");
    CHECK(lc_rope_apply(rc, NULL, 1, 64, 5) == LC_ERR_INVALID_ARG, "NULL x");
    CHECK(lc_rope_apply_inverse(rc, x, 1, 10, 5) == LC_ERR_INVALID_ARG, "inverse: head_dim < n_dims");
    CHECK(lc_rope_apply_seq(rc, x, -1, 1, 64, 0) == LC_ERR_INVALID_ARG, "negative n_tok");
    CHECK(lc_rope_apply_seq(rc, x, 2, 1, 64, INT64_MAX) == LC_ERR_INVALID_ARG, "position overflow");
    CHECK(lc_rope_cache_rotate_delta(rc, x, 1, 2, 5) == LC_ERR_INVALID_ARG, "delta: head_dim < n_dims");
    CHECK(lc_rope_rotate_delta(&c, NULL, x, 1, 32, 5) == LC_ERR_INVALID_ARG, "config delta: head_dim < n_dims");
    b = c;
    b.n_dims = 3;
    CHECK(lc_rope_rotate_delta(&b, NULL, x, 1, 64, 5) == LC_ERR_INVALID_ARG, "config delta: bad config");
    CHECK(memcmp(x, y, sizeof x) == 0, "refused calls leave x alone");
    CHECK(lc_rope_cache_reserve(rc, -1, &err) == LC_ERR_INVALID_ARG, "negative reserve");
    lc_rope_cache_free(rc);
    rc = (lc_rope_cache *)1;
    CHECK(lc_rope_cache_create(&c, -5, &rc, &err) == LC_ERR_INVALID_ARG && rc == NULL, "negative n_pos");
    /* a table that cannot fit is refused before allocating, with the size */
    CHECK(lc_rope_cache_create(&c, (int64_t)1 << 50, &rc, &err) == LC_ERR_TOO_LARGE && rc == NULL, "2^50 positions");
    CHECK(strstr(err.msg, "on the fly") != NULL && strstr(err.msg, "PiB") != NULL, "message: %s", err.msg);
    CHECK(lc_rope_cache_create(&c, INT64_MAX, &rc, &err) == LC_ERR_TOO_LARGE, "INT64_MAX positions: %s", err.msg);
    CHECK(lc_rope_cache_create(NULL, 4, &rc, &err) == LC_ERR_INVALID_ARG, "NULL config");
    CHECK(lc_rope_cache_create(&c, 4, NULL, &err) == LC_ERR_INVALID_ARG, "NULL out");
    CHECK(lc_rope_freqs(NULL, 0, NULL, NULL, &err) == LC_ERR_INVALID_ARG, "freqs NULL config");
}

static void test_options(void) {
    lc_error err;
    lc_rope_config c;
    lc_rope_config_init(&c, 128);
    CHECK(lc_rope_is_option("--rope-scale") && lc_rope_is_option("--yarn-beta-fast=4") &&
              lc_rope_is_option("--rope-freq-base"),
          "is_option");
    CHECK(!lc_rope_is_option("--rope") && !lc_rope_is_option("--rope-scalex") && !lc_rope_is_option("-c") &&
              !lc_rope_is_option(NULL),
          "not options");
    /* --rope-freq-scale 0.25 = s 4, linear when no method was chosen (llama.cpp) */
    CHECK_OK(lc_rope_apply_option(&c, "--rope-freq-scale", "0.25", &err), &err);
    CHECK(c.factor == 4.0f && c.scaling == LC_ROPE_SCALING_LINEAR, "freq-scale: s %g, %s", (double)c.factor,
          lc_rope_scaling_name(c.scaling));
    CHECK_OK(lc_rope_apply_option(&c, "--rope-scaling", "yarn", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--rope-scale", "8", &err), &err);
    CHECK(c.scaling == LC_ROPE_SCALING_YARN && c.factor == 8.0f, "yarn kept, s 8");
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-orig-ctx", "4K", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-ext-factor", "0.5", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-attn-factor", "0.9", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-beta-fast", "16", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-beta-slow=ignored", "2", &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--rope-freq-base", "500000", &err), &err);
    CHECK(c.orig_ctx == 4096 && c.ext_factor == 0.5f && c.attn_factor == 0.9f && c.beta_fast == 16.0f &&
              c.beta_slow == 2.0f && c.freq_base == 500000.0f,
          "values applied");
    CHECK_OK(lc_rope_validate(&c, &err), &err);
    CHECK_OK(lc_rope_apply_option(&c, "--yarn-ext-factor", "-1", &err), &err);
    CHECK(c.ext_factor < 0, "ext -1 = auto");
    char buf[256];
    lc_rope_describe(&c, buf, sizeof buf);
    CHECK(strstr(buf, "yarn") && strstr(buf, "s=8") && strstr(buf, "orig_ctx=4096") && strstr(buf, "mscale=1.0871"),
          "describe (mscale = 0.9 * (1 + 0.1 ln 8)): %s", buf);
    lc_rope_config d;
    lc_rope_config_init(&d, 64);
    lc_rope_describe(&d, buf, sizeof buf);
    CHECK(strcmp(buf, "none base=10000 dims=64/norm") == 0, "describe none: %s", buf);
    char tiny[8];
    lc_rope_describe(&c, tiny, sizeof tiny);
    CHECK(strlen(tiny) == 7, "describe truncates safely");
    CHECK(strstr(lc_rope_options_help(), "--yarn-orig-ctx") != NULL, "help text");
    for (lc_rope_scaling s = 0; s < LC_ROPE_SCALING_COUNT; s++) {
        lc_rope_scaling back;
        CHECK(lc_rope_scaling_parse(lc_rope_scaling_name(s), &back) && back == s, "name round trip %d", (int)s);
    }
    CHECK(strcmp(lc_rope_scaling_name((lc_rope_scaling)99), "?") == 0, "unknown name");
    /* refusals, value unchanged */
    lc_rope_config before = c;
    CHECK(lc_rope_apply_option(&c, "--rope-scaling", "cubic", &err) == LC_ERR_INVALID_ARG, "unknown method");
    CHECK(strstr(err.msg, "dynamic-ntk") != NULL, "message lists the methods: %s", err.msg);
    CHECK(lc_rope_apply_option(&c, "--rope-scale", "0.5", &err) == LC_ERR_INVALID_ARG, "s < 1");
    CHECK(lc_rope_apply_option(&c, "--rope-freq-scale", "2", &err) == LC_ERR_INVALID_ARG, "freq scale > 1");
    CHECK(lc_rope_apply_option(&c, "--rope-scale", "abc", &err) == LC_ERR_INVALID_ARG, "junk");
    CHECK(lc_rope_apply_option(&c, "--rope-scale", "4x", &err) == LC_ERR_INVALID_ARG, "trailing junk");
    CHECK(lc_rope_apply_option(&c, "--rope-scale", "nan", &err) == LC_ERR_INVALID_ARG, "nan");
    CHECK(lc_rope_apply_option(&c, "--rope-freq-base", "1", &err) == LC_ERR_INVALID_ARG, "base 1");
    CHECK(lc_rope_apply_option(&c, "--yarn-orig-ctx", "-3", &err) == LC_ERR_INVALID_ARG, "negative ctx");
    CHECK(lc_rope_apply_option(&c, "--yarn-orig-ctx", "99999999999999999999", &err) == LC_ERR_INVALID_ARG,
          "huge ctx");
    CHECK(lc_rope_apply_option(&c, "--yarn-ext-factor", "1.5", &err) == LC_ERR_INVALID_ARG, "ext > 1");
    CHECK(lc_rope_apply_option(&c, "--yarn-beta-fast", "0", &err) == LC_ERR_INVALID_ARG, "beta 0");
    CHECK(lc_rope_apply_option(&c, "--rope-scale", NULL, &err) == LC_ERR_INVALID_ARG, "missing value");
    CHECK(lc_rope_apply_option(&c, "--temp", "1", &err) == LC_ERR_INVALID_ARG, "not a rope option");
    CHECK(memcmp(&before, &c, sizeof c) == 0, "refused options leave the config alone");
}

/* llama2.c checkpoints carry legacy tables freq_cis_real/imag [seq_len][head_size/2]
 * = cos/sin(pos * 10000^(-2i/head_size)) computed by PyTorch in f32: our NORM
 * rotation must use the same angles. */
static void test_llama2c_tables(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/models/stories260K.bin", LC_SHARED_DIR);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "note: %s absent: legacy RoPE table check skipped\n", path);
        return;
    }
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "open %s", path);
    if (!f) return;
    int32_t h[7];
    CHECK(fread(h, sizeof h, 1, f) == 1, "header");
    const int64_t dim = h[0], hidden = h[1], L = h[2], nh = h[3], nkv = h[4], vocab = h[5] < 0 ? -h[5] : h[5],
                  seq = h[6];
    CHECK(dim > 0 && nh > 0 && dim % nh == 0 && seq > 0 && seq <= 4096 && nkv > 0, "sane header");
    const int64_t hs = dim / nh, kv_dim = nkv * hs;
    const int64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim + L * dim * dim + L * dim +
                           3 * L * hidden * dim + dim;
    const int64_t n_tab = seq * hs / 2;
    float *tab = malloc((size_t)n_tab * 2 * sizeof(float));
    CHECK(fseek(f, 28 + floats * 4, SEEK_SET) == 0 && fread(tab, sizeof(float), (size_t)n_tab * 2, f) == (size_t)n_tab * 2,
          "read legacy tables");
    fclose(f);
    lc_rope_config c = make_config(LC_ROPE_NORM, (int32_t)hs, 10000.0f, LC_ROPE_SCALING_NONE, 1.0f, 0);
    lc_rope_cache *rc = NULL;
    lc_error err;
    CHECK_OK(lc_rope_cache_create(&c, seq, &rc, &err), &err);
    double worst = 0.0;
    for (int64_t p = 0; p < seq && rc; p++) {
        for (int64_t i = 0; i < hs / 2; i++) {
            /* rotate the unit vector (1, 0) of pair i: gives (cos, sin) */
            float x[64] = {0};
            x[2 * i] = 1.0f;
            lc_rope_apply(rc, x, 1, (int32_t)hs, p);
            worst = fmax(worst, fabs(x[2 * i] - tab[p * hs / 2 + i]));
            worst = fmax(worst, fabs(x[2 * i + 1] - tab[n_tab + p * hs / 2 + i]));
        }
    }
    /* PyTorch's f32 angles err by up to |angle| * 2^-24 (~3e-5 at 511) */
    CHECK(worst < 1e-4, "legacy llama2.c tables vs our rotation: max abs err %.3g", worst);
    fprintf(stderr, "llama2.c legacy RoPE tables (%lld x %lld): max abs diff %.3g\n", (long long)seq,
            (long long)(hs / 2), worst);
    lc_rope_cache_free(rc);
    free(tab);
}

/* Options kept, then applied in order to a configuration known later. */
static void test_option_list(void) {
    lc_rope_options o;
    memset(&o, 0, sizeof o);
    lc_error err;
    CHECK_OK(lc_rope_options_add(&o, "--rope-scaling", "yarn", &err), &err);
    CHECK_OK(lc_rope_options_add(&o, "--rope-scale", "4", &err), &err);
    CHECK_OK(lc_rope_options_add(&o, "--rope-scale", "8", &err), &err); /* the last one wins */
    lc_rope_config c;
    lc_rope_config_init(&c, 64);
    CHECK_OK(lc_rope_options_apply(&o, &c, &err), &err);
    CHECK(c.scaling == LC_ROPE_SCALING_YARN && c.factor == 8.0f, "scaling %d factor %g", (int)c.scaling,
          (double)c.factor);
    CHECK_OK(lc_rope_options_add(&o, "--rope-scaling", "sideways", &err), &err);
    CHECK(lc_rope_options_apply(&o, &c, &err) != LC_OK, "a bad value fails when applied");
    while (o.n < LC_ROPE_MAX_OPTIONS) CHECK_OK(lc_rope_options_add(&o, "--rope-scale", "2", &err), &err);
    CHECK(lc_rope_options_add(&o, "--rope-scale", "2", &err) == LC_ERR_INVALID_ARG && o.n == LC_ROPE_MAX_OPTIONS,
          "past %d options", LC_ROPE_MAX_OPTIONS);
}

int main(void) {
    test_option_list();
    test_reference();
    test_norms_and_relative_position();
    test_transpose();
    test_rotate_delta();
    test_cache();
    test_dynamic_ntk();
    test_kernels();
    test_validation();
    test_options();
    test_llama2c_tables();
    return lc_test_finish("test_rope");
}
