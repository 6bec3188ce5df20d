/* bench_options.h - intfa-bench's command line. */
#ifndef INTFA_BENCH_OPTIONS_H
#define INTFA_BENCH_OPTIONS_H

#include <stdio.h>

#include "bench_sweep.h"

typedef struct bench_options {
    bench_sweep sweep;
    const char *sweep_name;
    int reps, warmup;   /* timed runs (the median is reported) and untimed runs before them */
    int speed;          /* time the sweep (on unless --no-speed) */
    int accuracy;       /* the accuracy section (--accuracy) */
    const char *csv, *json, *accuracy_csv; /* output files, NULL: none */
    const char *label;  /* free text stored in the JSON (commit, command) */
} bench_options;

/* Parses argv into *o. Returns 0 to run, 1 after printing the usage for --help, 2 on a bad
 * argument, with a message naming the option and the value in err. */
int bench_parse_options(int argc, char **argv, bench_options *o, char *err, size_t cap);

void bench_usage(FILE *f);

#endif
