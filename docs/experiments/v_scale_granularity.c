/* v_scale_granularity.c - which V scale for a paged INT8 KV cache (issue 17)? Float
 * experiment: 64 query rows of N(0,1) Q, K, V (and V with 4 outlier channels x8), Q/K per
 * token in INT8, P u8 per row against each 128-key tile's maximum (the kernels' pu8), exact
 * attention in double as the reference; V scaled per channel over the whole sequence (today's
 * default), per (page of 256/128/64/16 keys, channel), or per token (one scale per key row).
 *   cc -O2 -std=gnu11 docs/experiments/v_scale_granularity.c -lm -o /tmp/v && /tmp/v N OUTLIERS */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define RM 12582912.0f
#define NQ 64
static double gauss(void) {
    double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}
static float q8(float x, float inv) {
    int q = (int)rintf(x * inv);
    return (float)(q > 127 ? 127 : q < -127 ? -127 : q);
}
int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int N = atoi(argv[1]), D = 128, BN = 128, outl = atoi(argv[2]);
    srand(7);
    float *q = malloc(4 * NQ * D), *k = malloc(4 * (size_t)N * D), *v = malloc(4 * (size_t)N * D);
    for (int i = 0; i < NQ * D; i++)
        q[i] = gauss();
    for (long i = 0; i < (long)N * D; i++) {
        k[i] = gauss();
        v[i] = gauss();
    }
    if (outl)
        for (int j = 0; j < N; j++)
            for (int d = 0; d < 4; d++)
                v[(long)j * D + d * 31] *= 8;
    /* exact */
    double *ex = malloc(8 * NQ * D), refn = 0;
    for (int i = 0; i < NQ; i++) {
        double mx = -1e300;
        double *s = malloc(8 * N);
        for (int j = 0; j < N; j++) {
            double a = 0;
            for (int d = 0; d < D; d++)
                a += (double)q[i * D + d] * k[(long)j * D + d];
            s[j] = a / sqrt(D);
            if (s[j] > mx)
                mx = s[j];
        }
        double L = 0;
        for (int d = 0; d < D; d++)
            ex[i * D + d] = 0;
        for (int j = 0; j < N; j++) {
            double p = exp(s[j] - mx);
            L += p;
            for (int d = 0; d < D; d++)
                ex[i * D + d] += p * v[(long)j * D + d];
        }
        for (int d = 0; d < D; d++) {
            ex[i * D + d] /= L;
            refn += ex[i * D + d] * ex[i * D + d];
        }
        free(s);
    }
    /* Q/K per token quantized, dequantized scores in float */
    float *kq = malloc(4 * (size_t)N * D), *ks = malloc(4 * N), *qq = malloc(4 * NQ * D),
          *qs = malloc(4 * NQ);
    for (int j = 0; j < N; j++) {
        float a = 0;
        for (int d = 0; d < D; d++)
            a = fmaxf(a, fabsf(k[(long)j * D + d]));
        ks[j] = a / 127;
        for (int d = 0; d < D; d++)
            kq[(long)j * D + d] = q8(k[(long)j * D + d], 127 / a);
    }
    for (int i = 0; i < NQ; i++) {
        float a = 0;
        for (int d = 0; d < D; d++)
            a = fmaxf(a, fabsf(q[i * D + d]));
        qs[i] = a / 127;
        for (int d = 0; d < D; d++)
            qq[i * D + d] = q8(q[i * D + d], 127 / a);
    }
    int pages[] = {0, 256, 128, 64, 16, 1}; /* 0: whole sequence per channel; 1: per token */
    const char *names[] = {"channel (whole seq)", "page 256 x channel", "page 128 x channel",
                           "page 64 x channel",   "page 16 x channel",  "token (row)"};
    float *vd = malloc(4 * (size_t)N * D); /* dequantized V */
    for (int m = 0; m < 6; m++) {
        int P = pages[m];
        if (P == 1) {
            for (int j = 0; j < N; j++) {
                float a = 0;
                for (int d = 0; d < D; d++)
                    a = fmaxf(a, fabsf(v[(long)j * D + d]));
                for (int d = 0; d < D; d++)
                    vd[(long)j * D + d] = q8(v[(long)j * D + d], 127 / a) * (a / 127);
            }
        } else {
            int pg = P ? P : N;
            for (int j0 = 0; j0 < N; j0 += pg)
                for (int d = 0; d < D; d++) {
                    float a = 0;
                    for (int j = j0; j < j0 + pg && j < N; j++)
                        a = fmaxf(a, fabsf(v[(long)j * D + d]));
                    for (int j = j0; j < j0 + pg && j < N; j++)
                        vd[(long)j * D + d] = q8(v[(long)j * D + d], 127 / a) * (a / 127);
                }
        }
        double en = 0;
        for (int i = 0; i < NQ; i++) {
            float c = 1 / sqrtf(D) * 1.44269504f * qs[i];
            float m_ = -INFINITY, l = 0;
            double o[128] = {0};
            float x[128];
            for (int t0 = 0; t0 < N; t0 += BN) {
                float xm = -INFINITY;
                for (int j = 0; j < BN; j++) {
                    float s = 0;
                    for (int d = 0; d < D; d++)
                        s += qq[i * D + d] * kq[(long)(t0 + j) * D + d];
                    x[j] = s * ks[t0 + j] * c;
                    xm = fmaxf(xm, x[j]);
                }
                float mn = fmaxf(m_, xm), al = m_ == -INFINITY ? 0 : exp2f(m_ - mn);
                /* P u8 against the tile max, weighted by the tile max relative to mn */
                float pq[128];
                float ps = 0;
                for (int j = 0; j < BN; j++) {
                    float p = exp2f(x[j] - xm);
                    pq[j] = (float)(int)(fmaf(p, 255, RM) - RM);
                    ps += pq[j];
                }
                float beta = exp2f(xm - mn) / 255;
                for (int d = 0; d < D; d++) {
                    double a = 0;
                    for (int j = 0; j < BN; j++)
                        a += pq[j] * vd[(long)(t0 + j) * D + d];
                    o[d] = o[d] * al + a * beta;
                }
                l = l * al + ps * beta;
                m_ = mn;
            }
            for (int d = 0; d < D; d++) {
                double e = o[d] / l - ex[i * D + d];
                en += e * e;
            }
        }
        printf("N=%d outliers=%d  V %-22s rel L2 %.4e\n", N, outl, names[m], sqrt(en / refn));
    }
    return 0;
}
