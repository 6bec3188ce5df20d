/* bench_json.h - intfa-bench's results as one JSON document: how they were measured (device,
 * date, sweep, repetitions), the speed rows and the accuracy rows. */
#ifndef INTFA_BENCH_JSON_H
#define INTFA_BENCH_JSON_H

#include <stdio.h>

#include "bench_report.h"

typedef struct bench_meta {
    const char *device;     /* device name */
    const char *arch;       /* the arch kernels were built for, "sm_90a" */
    int sm_count;
    long long l2_bytes;
    const char *date;       /* UTC, ISO 8601 */
    const char *sweep;      /* sweep name */
    const char *label;      /* free text (commit, command); NULL: none */
    int reps, warmup, input_sets;
} bench_meta;

/* {"tool": "intfa-bench", ..., "speed": [...], "accuracy": [...]}; NaN is written as null,
 * strings are escaped. */
void bench_json_write(FILE *f, const bench_meta *m, const bench_row *rows, int n,
                      const bench_acc_row *acc, int nacc);

#endif
