/* p_running_max.c - would P.V accumulated in int32 across key tiles be accurate enough?
 * (docs/PERF_NOTES.md, "Upper bounds by deletion"). Float experiment on N(0,1) inputs, 128
 * query rows, Q/K per token and V per channel in INT8 (as the kernels), exact attention in
 * double as the reference: P quantized to u8 against the tile's own maximum (the kernels'
 * pu8, lazy reference maximum, tau 8) versus against the row's running maximum plus a headroom
 * delta (0 .. 1 log2 units), which int32 accumulation across tiles needs; also the fraction
 * of (16-row warp, tile) pairs where some row's maximum moves (a flush of the int32 tile).
 *   cc -O2 -std=gnu11 docs/experiments/p_running_max.c -lm -o /tmp/p && /tmp/p N D BN */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
static double gauss(void) {
    double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
#define RM 12582912.0f
#define NQ 128
static double exact[NQ][256];
static unsigned char chg[NQ][2048];
int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int N = atoi(argv[1]), D = atoi(argv[2]), BN = atoi(argv[3]);
    srand(1);
    float *q = malloc(sizeof(float) * NQ * D), *k = malloc(sizeof(float) * N * D),
          *v = malloc(sizeof(float) * N * D);
    for (int i = 0; i < NQ * D; i++)
        q[i] = gauss();
    for (int i = 0; i < N * D; i++) {
        k[i] = gauss();
        v[i] = gauss();
    }
    int8_t *q8 = malloc(NQ * D), *k8 = malloc(N * D), *v8 = malloc(N * D);
    float *qs = malloc(4 * NQ), *ks = malloc(4 * N), *vs = malloc(4 * D);
    for (int i = 0; i < NQ; i++) {
        float a = 0;
        for (int d = 0; d < D; d++)
            a = fmaxf(a, fabsf(q[i * D + d]));
        qs[i] = a / 127;
        for (int d = 0; d < D; d++)
            q8[i * D + d] = (int8_t)rintf(q[i * D + d] * 127 / a);
    }
    for (int i = 0; i < N; i++) {
        float a = 0;
        for (int d = 0; d < D; d++)
            a = fmaxf(a, fabsf(k[i * D + d]));
        ks[i] = a / 127;
        for (int d = 0; d < D; d++)
            k8[i * D + d] = (int8_t)rintf(k[i * D + d] * 127 / a);
    }
    for (int d = 0; d < D; d++) {
        float a = 0;
        for (int i = 0; i < N; i++)
            a = fmaxf(a, fabsf(v[i * D + d]));
        vs[d] = a / 127;
        for (int i = 0; i < N; i++)
            v8[i * D + d] = (int8_t)rintf(v[i * D + d] * 127 / a);
    }
    double refn = 0;
    for (int i = 0; i < NQ; i++) {
        double mx = -1e300;
        double *sc = malloc(8 * N);
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int d = 0; d < D; d++)
                s += (double)q[i * D + d] * k[j * D + d];
            sc[j] = s / sqrt(D);
            if (sc[j] > mx)
                mx = sc[j];
        }
        double L = 0;
        for (int d = 0; d < D; d++)
            exact[i][d] = 0;
        for (int j = 0; j < N; j++) {
            double p = exp(sc[j] - mx);
            L += p;
            for (int d = 0; d < D; d++)
                exact[i][d] += p * v[j * D + d];
        }
        for (int d = 0; d < D; d++) {
            exact[i][d] /= L;
            refn += exact[i][d] * exact[i][d];
        }
        free(sc);
    }
    float c = 1.0f / sqrtf(D) * 1.4426950408889634f;
    double deltas[] = {-1, 0, 0.125, 0.25, 0.5, 1.0};
    int nm = 6;
    float *x = malloc(4 * BN);
    float o[256];
    int32_t acc[256], pv[256];
    int nt = (N + BN - 1) / BN;
    for (int mode = 0; mode < nm; mode++) {
        long fl = 0;
        double en = 0;
        for (int i = 0; i < NQ; i++) {
            float a = qs[i] * c;
            float m = -INFINITY, l = 0;
            for (int d = 0; d < D; d++) {
                o[d] = 0;
                acc[d] = 0;
            }
            int32_t lacc = 0;
            for (int t = 0; t < nt; t++) {
                float xm = -INFINITY;
                for (int j = 0; j < BN; j++) {
                    int32_t s = 0;
                    for (int d = 0; d < D; d++)
                        s += q8[i * D + d] * k8[(t * BN + j) * D + d];
                    x[j] = (float)s * ks[t * BN + j];
                    xm = fmaxf(xm, x[j]);
                }
                float mt = xm * a;
                if (deltas[mode] < 0) {
                    float mn = mt > m + 8 ? mt : m;
                    float alpha = m == mn ? 1 : exp2f(m - mn);
                    int32_t ps = 0;
                    for (int d = 0; d < D; d++)
                        pv[d] = 0;
                    for (int j = 0; j < BN; j++) {
                        float p = exp2f(fmaf(x[j], a, -mt));
                        int pq = (int)(fmaf(p, 255, RM) - RM);
                        ps += pq;
                        for (int d = 0; d < D; d++)
                            pv[d] += pq * v8[(t * BN + j) * D + d];
                    }
                    float beta = exp2f(mt - mn) / 255;
                    for (int d = 0; d < D; d++)
                        o[d] = fmaf(pv[d], beta, o[d] * alpha);
                    l = fmaf(ps, beta, l * alpha);
                    m = mn;
                    chg[i][t] = alpha != 1;
                } else {
                    float mn = mt > m ? mt + (float)deltas[mode] : m;
                    if (mn != m) {
                        float alpha = m == -INFINITY ? 0 : exp2f(m - mn);
                        for (int d = 0; d < D; d++) {
                            o[d] = fmaf(acc[d], 1.0f / 255, o[d]) * alpha;
                            acc[d] = 0;
                        }
                        l = fmaf(lacc, 1.0f / 255, l) * alpha;
                        lacc = 0;
                        chg[i][t] = 1;
                    } else
                        chg[i][t] = 0;
                    m = mn;
                    for (int j = 0; j < BN; j++) {
                        float p = exp2f(fmaf(x[j], a, -m));
                        int pq = (int)(fmaf(p, 255, RM) - RM);
                        lacc += pq;
                        for (int d = 0; d < D; d++)
                            acc[d] += pq * v8[(t * BN + j) * D + d];
                    }
                }
            }
            if (deltas[mode] >= 0) {
                for (int d = 0; d < D; d++)
                    o[d] = fmaf(acc[d], 1.0f / 255, o[d]);
                l = fmaf(lacc, 1.0f / 255, l);
            }
            for (int d = 0; d < D; d++) {
                double e = o[d] * vs[d] / l - exact[i][d];
                en += e * e;
            }
        }
        for (int w = 0; w < NQ / 16; w++)
            for (int t = 0; t < nt; t++) {
                int any = 0;
                for (int r = 0; r < 16; r++)
                    any |= chg[w * 16 + r][t];
                fl += any;
            }
        printf("N=%d D=%d BN=%d delta=%6.3f rel_l2=%.4e warp-flush-rate=%.3f\n", N, D, BN,
               deltas[mode], sqrt(en / refn), (double)fl / ((NQ / 16) * nt));
    }
}
