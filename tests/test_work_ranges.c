/* The decode work list (src/common/work_ranges.h): with any number of
 * ranges and threads, every item is handed out exactly once; a thread's
 * own items come front to back in claims of at most LC_WORK_CLAIM_MAX; a
 * thread whose range is empty steals from the others' backs; and threads
 * that OpenMP never starts leave no item behind. */
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/work_ranges.h"
#include "test_util.h"

/* Take every item of n with nq ranges and nt threads (nt may be fewer than
 * nq). slow_thread, when >= 0, starts only once every other thread has
 * stolen an item or found none left, so stealing is certain, not timing. */
static void run_case(int64_t n, int nq, int nt, int slow_thread) {
    lc_work_range ranges[LC_WORK_MAX_RANGES];
    lc_work_ranges_init(ranges, n, nq);
    _Atomic int *seen = calloc((size_t)(n > 0 ? n : 1), sizeof *seen);
    int order_bad = 0, own_gap = 0, stolen = 0, team = 1;
    _Atomic int fast_ready = 0;
#pragma omp parallel num_threads(nt) reduction(+ : order_bad, own_gap, stolen)
    {
        const int me = omp_get_thread_num();
#pragma omp single
        team = omp_get_num_threads();
        if (me == slow_thread)
            while (atomic_load(&fast_ready) < team - 1) sched_yield();
        bool counted = me == slow_thread;
        lc_work_cursor c = LC_WORK_CURSOR_INIT;
        int64_t last_own = -1;
        for (int64_t it; (it = lc_work_next(ranges, nq, me, &c)) >= 0;) {
            if (c.k != 0 && !counted) {
                counted = true;
                atomic_fetch_add(&fast_ready, 1);
            }
            if (it >= n) {
                order_bad++;
                continue;
            }
            atomic_fetch_add(&seen[it], 1);
            if (c.k == 0) { /* the thread's own range: strictly front to back */
                if (it <= last_own) order_bad++;
                const int64_t lo = n * (me % nq) / nq, hi = n * (me % nq + 1) / nq;
                if (it < lo || it >= hi) own_gap++;
                last_own = it;
            } else {
                stolen++;
            }
        }
        if (!counted) atomic_fetch_add(&fast_ready, 1);
    }
    int64_t missing = 0, twice = 0;
    for (int64_t i = 0; i < n; i++) {
        const int s = atomic_load(&seen[i]);
        missing += s == 0;
        twice += s > 1;
    }
    CHECK(missing == 0 && twice == 0, "n %lld, %d ranges, %d threads: %lld items missing, %lld taken twice",
          (long long)n, nq, nt, (long long)missing, (long long)twice);
    CHECK(order_bad == 0, "n %lld, %d ranges, %d threads: %d items out of order or range", (long long)n, nq, nt,
          order_bad);
    CHECK(own_gap == 0, "n %lld, %d ranges, %d threads: %d own items outside the thread's range", (long long)n, nq, nt,
          own_gap);
    if (slow_thread >= 0 && slow_thread < team && team > 1 && nt <= nq && n >= nq)
        CHECK(stolen > 0, "n %lld, %d threads, thread %d slow: nothing was stolen", (long long)n, nt, slow_thread);
    free(seen);
}

/* One thread alone: claims grow with what is left and shrink to one item,
 * never above LC_WORK_CLAIM_MAX, and the cursor returns them in order. */
static void claim_sizes(void) {
    lc_work_range r[1];
    lc_work_ranges_init(r, 1000, 1);
    int64_t first = -1;
    const int64_t g = lc_work_range_take(&r[0], true, &first);
    CHECK(first == 0 && g == LC_WORK_CLAIM_MAX, "first claim of 1000: [%lld, +%lld)", (long long)first, (long long)g);
    const int64_t b = lc_work_range_take(&r[0], false, &first);
    CHECK(b == 1 && first == 999, "a steal takes the last item: %lld at %lld", (long long)b, (long long)first);
    lc_work_ranges_init(r, 20, 1);
    CHECK(lc_work_range_take(&r[0], true, &first) == 2 && first == 0, "20 left: a claim of 2");
    lc_work_ranges_init(r, 5, 1);
    CHECK(lc_work_range_take(&r[0], true, &first) == 1 && first == 0, "5 left: a claim of 1");
    lc_work_ranges_init(r, 0, 1);
    CHECK(lc_work_range_take(&r[0], true, &first) == 0, "an empty range gives nothing");
    lc_work_ranges_init(r, 300, 1);
    lc_work_cursor c = LC_WORK_CURSOR_INIT;
    int64_t want = 0, it;
    while ((it = lc_work_next(r, 1, 0, &c)) >= 0) {
        if (it != want) break;
        want++;
    }
    CHECK(want == 300 && it < 0, "one thread walks 0..299 in order, stopped at %lld", (long long)want);
}

int main(void) {
    claim_sizes();
    const int64_t sizes[] = {0, 1, 2, 7, 8, 9, 63, 64, 65, 257, 1000, 4099};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int nq = 1; nq <= 5; nq++)
            for (int nt = 1; nt <= 5; nt++) {
                run_case(sizes[s], nq, nt, -1);
                run_case(sizes[s], nq, nt, nt - 1);
            }
    run_case(100000, LC_WORK_MAX_RANGES, 3, 0);
    return lc_test_finish("test_work_ranges");
}
