/* bench_sweep.c - sweep shapes and operation counts (bench_sweep.h). */
#include <string.h>

#include "bench_sweep.h"

int bench_sweep_named(const char *name, bench_sweep *s)
{
    memset(s, 0, sizeof *s);
    s->head_dims[0] = 64;
    s->head_dims[1] = 128;
    s->nhead_dims = 2;
    s->causals[0] = 0;
    s->causals[1] = 1;
    s->ncausals = 2;
    if (strcmp(name, "default") == 0) {
        for (int i = 0; i < 6; ++i) s->seqs[i] = 1024LL << i;
        s->nseqs = 6;
        s->heads = BENCH_HEADS;
        s->tokens = BENCH_TOKENS;
        return 0;
    }
    if (strcmp(name, "tiny") == 0) {
        s->seqs[0] = 256;
        s->seqs[1] = 512;
        s->nseqs = 2;
        s->heads = 4;
        s->tokens = 1024;
        return 0;
    }
    return -1;
}

int64_t bench_batch_for(int64_t tokens, int64_t seq)
{
    const int64_t b = seq > 0 ? tokens / seq : 0;
    return b > 1 ? b : 1;
}

int bench_sweep_configs(const bench_sweep *s, bench_config *out, int cap)
{
    int n = 0;
    for (int d = 0; d < s->nhead_dims; ++d)
        for (int c = 0; c < s->ncausals; ++c)
            for (int i = 0; i < s->nseqs && n < cap; ++i) {
                bench_config *k = &out[n++];
                k->seq = s->seqs[i];
                k->batch = bench_batch_for(s->tokens, s->seqs[i]);
                k->heads = s->heads;
                k->head_dim = s->head_dims[d];
                k->causal = s->causals[c];
            }
    return n;
}

double bench_attn_ops(const bench_config *c)
{
    const double ops = 4.0 * (double)c->batch * (double)c->heads * (double)c->seq *
                       (double)c->seq * (double)c->head_dim;
    return c->causal ? ops / 2 : ops;
}
