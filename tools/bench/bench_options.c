/* bench_options.c - intfa-bench's command line (bench_options.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench_options.h"

void bench_usage(FILE *f)
{
    fprintf(f,
            "usage: intfa-bench [--sweep default|tiny] [--hd 64|128|all] [--n N[,N...]]\n"
            "                   [--causal 0|1|both] [--heads H] [--tokens T] [--reps R]\n"
            "                   [--warmup W] [--accuracy] [--no-speed] [--csv FILE]\n"
            "                   [--json FILE] [--accuracy-csv FILE] [--label TEXT]\n"
            "\n"
            "  --sweep     default: H = 32, B*N = 16k tokens, N = 1k..32k, head_dim 64 and 128,\n"
            "              causal off and on; tiny: H = 4, B*N = 1k, N = 256, 512\n"
            "  --hd, --n, --causal, --heads, --tokens   narrow or change the sweep\n"
            "  --reps R    timed runs per kernel, the median is reported (default 30)\n"
            "  --warmup W  untimed runs first (default 5)\n"
            "  --accuracy  also measure the error against exact attention (FP64, CPU)\n"
            "  --no-speed  skip the timing sweep\n"
            "  --csv, --json, --accuracy-csv   write the results there\n"
            "  --label     text kept in the JSON (commit, command)\n"
            "Exits 77 where no GPU is present.\n");
}

static int bad(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return 2;
}

/* A whole decimal number in [lo, hi]; 0 on success. */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    const long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* One of two numbers, which narrows a list to it, or the word for both (the list stays). */
static int pick(const char *s, const char *one, const char *two, const char *both, int *list, int *n)
{
    if (!strcmp(s, both)) return 0;
    if (strcmp(s, one) && strcmp(s, two)) return -1;
    list[0] = atoi(s);
    *n = 1;
    return 0;
}

/* "1024,4096": positive sequence lengths, at most 16. */
static int parse_seqs(const char *s, bench_sweep *sw)
{
    int n = 0;
    const char *p = s;
    while (n < 16) {
        char item[32];
        const size_t len = strcspn(p, ",");
        long long x;
        if (len == 0 || len >= sizeof item) return -1;
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_int(item, 1, 1LL << 30, &x)) return -1;
        sw->seqs[n++] = x;
        if (!p[len]) {
            sw->nseqs = n;
            return 0;
        }
        p += len + 1;
    }
    return -1;
}

int bench_parse_options(int argc, char **argv, bench_options *o, char *err, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->reps = 30;
    o->warmup = 5;
    o->speed = 1;
    o->sweep_name = "default";
    const char *hd = NULL, *seqs = NULL, *causal = NULL, *heads = NULL, *tokens = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return 1;
        }
        if (!strcmp(a, "--accuracy")) { o->accuracy = 1; continue; }
        if (!strcmp(a, "--no-speed")) { o->speed = 0; continue; }
        const char **slot = !strcmp(a, "--sweep") ? &o->sweep_name : !strcmp(a, "--hd") ? &hd
                          : !strcmp(a, "--n") ? &seqs : !strcmp(a, "--causal") ? &causal
                          : !strcmp(a, "--heads") ? &heads : !strcmp(a, "--tokens") ? &tokens
                          : !strcmp(a, "--csv") ? &o->csv : !strcmp(a, "--json") ? &o->json
                          : !strcmp(a, "--accuracy-csv") ? &o->accuracy_csv
                          : !strcmp(a, "--label") ? &o->label : NULL;
        long long x;
        if (!strcmp(a, "--reps") || !strcmp(a, "--warmup")) {
            const int reps = !strcmp(a, "--reps");
            if (i + 1 >= argc) return bad(err, cap, "%s needs a value", a);
            if (parse_int(argv[++i], reps ? 1 : 0, 100000, &x))
                return bad(err, cap, "%s %s: expected a whole number in %d..100000", a, argv[i], reps);
            *(reps ? &o->reps : &o->warmup) = (int)x;
            continue;
        }
        if (!slot) return bad(err, cap, "unknown option \"%s\" (--help lists them)", a);
        if (i + 1 >= argc) return bad(err, cap, "%s needs a value", a);
        *slot = argv[++i];
    }
    if (bench_sweep_named(o->sweep_name, &o->sweep))
        return bad(err, cap, "--sweep %s: expected default or tiny", o->sweep_name);
    bench_sweep *s = &o->sweep;
    long long x;
    if (hd && pick(hd, "64", "128", "all", s->head_dims, &s->nhead_dims))
        return bad(err, cap, "--hd %s: expected 64, 128 or all", hd);
    if (causal && pick(causal, "0", "1", "both", s->causals, &s->ncausals))
        return bad(err, cap, "--causal %s: expected 0, 1 or both", causal);
    if (seqs && parse_seqs(seqs, s))
        return bad(err, cap, "--n %s: expected up to 16 comma-separated lengths in 1..2^30", seqs);
    if (heads) {
        if (parse_int(heads, 1, 65535, &x)) return bad(err, cap, "--heads %s: expected 1..65535", heads);
        s->heads = x;
    }
    if (tokens) {
        if (parse_int(tokens, 1, 1LL << 30, &x)) return bad(err, cap, "--tokens %s: expected 1..2^30", tokens);
        s->tokens = x;
    }
    if (!o->speed && !o->accuracy) return bad(err, cap, "--no-speed without --accuracy leaves nothing to do");
    return 0;
}
