/* attention: exact causal attention over a long sequence with the FLASH
 * kernel, checked against the materialised NAIVE reference.
 *
 *   attention [N_TOKENS]     (default 2048; 8 query heads, 2 KV heads, d 64)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <longctx/longctx.h>

int main(int argc, char **argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : 2048;
    if (n < 1 || n > 65536) {
        fprintf(stderr, "N_TOKENS must be 1..65536\n");
        return 2;
    }
    const int32_t hq = 8, hkv = 2, d = 64;
    lc_attn_shape s = {.n_q = n, .n_kv = n, .n_head = hq, .n_head_kv = hkv, .head_dim = d,
                       .k_type = LC_DTYPE_F32, .v_type = LC_DTYPE_F32, .causal = true};
    float *q = malloc((size_t)(n * hq * d) * sizeof *q), *k = malloc((size_t)(n * hkv * d) * sizeof *k);
    float *v = malloc((size_t)(n * hkv * d) * sizeof *v);
    float *o_flash = malloc((size_t)(n * hq * d) * sizeof *o_flash), *o_naive = malloc((size_t)(n * hq * d) * sizeof *o_naive);
    if (!q || !k || !v || !o_flash || !o_naive) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t x = 42;
    for (int64_t i = 0; i < n * hq * d; i++) q[i] = (float)((x = x * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
    for (int64_t i = 0; i < n * hkv * d; i++) k[i] = (float)((x = x * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;
    for (int64_t i = 0; i < n * hkv * d; i++) v[i] = (float)((x = x * 6364136223846793005ULL + 1) >> 40) / (1 << 24) - 0.5f;

    lc_error err;
    lc_attn_params flash, naive;
    lc_attn_params_init(&flash, LC_ATTN_FLASH);
    lc_attn_params_init(&naive, LC_ATTN_NAIVE);
    lc_attn_io io_f = {q, k, v, o_flash, NULL}, io_n = {q, k, v, o_naive, NULL};
    double t0 = lc_time_now();
    if (lc_attn(&s, &flash, &io_f, &err) != LC_OK) {
        fprintf(stderr, "flash: %s\n", err.msg);
        return 1;
    }
    double t1 = lc_time_now();
    if (lc_attn(&s, &naive, &io_n, &err) != LC_OK) {
        fprintf(stderr, "naive: %s\n", err.msg);
        return 1;
    }
    double t2 = lc_time_now();
    double max_diff = 0;
    for (int64_t i = 0; i < n * hq * d; i++) max_diff = fmax(max_diff, fabs((double)o_flash[i] - (double)o_naive[i]));
    printf("n %lld: FLASH %.1f ms (%.1f GFLOP/s), NAIVE %.1f ms, max |diff| %.2e\n", (long long)n, (t1 - t0) * 1e3,
           lc_attn_flops(&s, &flash) / (t1 - t0) * 1e-9, (t2 - t1) * 1e3, max_diff);
    free(q), free(k), free(v), free(o_flash), free(o_naive);
    return max_diff < 1e-4 ? 0 : 1;
}
