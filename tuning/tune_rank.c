/* tune_rank.c - tie-aware ranking of candidate times (see tune_rank.h). */
#include <math.h>

#include "tune_rank.h"

/* Not yet ranked and timed successfully. */
static int open_candidate(const double *ms, const size_t *order, size_t k, size_t i)
{
    for (size_t j = 0; j < k; j++)
        if (order[j] == i) return 0;
    return isfinite(ms[i]) && ms[i] > 0;
}

void intfa_tune_rank(const double *ms, size_t n, size_t *order, size_t *ranked)
{
    size_t k = 0;
    for (;;) {
        double best = INFINITY;
        for (size_t i = 0; i < n; i++)
            if (open_candidate(ms, order, k, i) && ms[i] < best) best = ms[i];
        if (!isfinite(best)) break;
        for (size_t i = 0; i < n; i++)
            if (open_candidate(ms, order, k, i) && ms[i] <= best * (1.0 + INTFA_TUNE_TIE)) {
                order[k++] = i;
                break;
            }
    }
    *ranked = k;
}
