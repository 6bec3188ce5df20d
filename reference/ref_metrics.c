/* ref_metrics.c - error metrics of a result against a double reference, and the
 * deterministic random generator (splitmix64 seeding, xoshiro256**, polar Box-Muller). */
/* No contraction of a * b + c into fma: the algorithm says where fmaf is used. GCC ignores
 * the STDC pragma but does not contract in ISO C mode (-std=c11, which CMake selects). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__) && !defined(__STRICT_ANSI__)
#error "compile the reference in ISO C mode (-std=c11): GNU mode contracts to fma"
#endif
#include <math.h>

#include "intfa_ref.h"

/* Non-finite x values are counted and left in the sums, so the error metrics turn NaN or
 * inf too: a bound check on them then fails, as it should. */
void intfa_ref_compare(const float *x, const double *ref, int64_t n, intfa_ref_metrics *m)
{
    double diff2 = 0.0, ref2 = 0.0, x2 = 0.0, dot = 0.0, diff1 = 0.0, ref1 = 0.0;
    double max_abs = 0.0, ref_max = 0.0;
    int64_t nonfinite = 0;
    int has_nan = 0;
    for (int64_t i = 0; i < n; i++) {
        double xi = (double)x[i], ri = ref[i], di = fabs(xi - ri);
        if (!isfinite(xi))
            nonfinite++;
        if (isnan(di))
            has_nan = 1;
        else if (di > max_abs)
            max_abs = di;
        diff2 += (xi - ri) * (xi - ri);
        ref2 += ri * ri;
        x2 += xi * xi;
        dot += xi * ri;
        diff1 += di;
        ref1 += fabs(ri);
        ref_max = fmax(ref_max, fabs(ri));
    }
    double rel_sum = 0.0;
    int64_t rel_n = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(ref[i]) > 1e-6 * ref_max) {
            rel_sum += fabs((double)x[i] - ref[i]) / fabs(ref[i]);
            rel_n++;
        }
    }
    /* a zero reference: 0 error if x is zero too, else infinite */
    m->rel_l2 = ref2 > 0.0 ? sqrt(diff2) / sqrt(ref2) : (diff2 > 0.0 ? INFINITY : diff2);
    m->rel_l1 = ref1 > 0.0 ? diff1 / ref1 : (diff1 > 0.0 ? INFINITY : diff1);
    if (x2 > 0.0 && ref2 > 0.0)
        m->cosine = dot / (sqrt(x2) * sqrt(ref2));
    else
        m->cosine = (x2 == 0.0 && ref2 == 0.0) ? 1.0 : (isnan(x2) ? NAN : 0.0);
    m->rmse = n > 0 ? sqrt(diff2 / (double)n) : 0.0;
    m->mean_rel = rel_n > 0 ? rel_sum / (double)rel_n : 0.0;
    m->max_abs = has_nan ? NAN : max_abs;
    m->nonfinite = nonfinite;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(intfa_ref_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void intfa_ref_rng_seed(intfa_ref_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&st); /* never all zero: splitmix64 is a bijection of a counter */
    r->has_spare = 0;
    r->spare = 0.0;
}

double intfa_ref_uniform(intfa_ref_rng *r)
{
    return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

double intfa_ref_normal(intfa_ref_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * intfa_ref_uniform(r) - 1.0;
        v = 2.0 * intfa_ref_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}
