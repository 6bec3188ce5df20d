/* stress.h - one context, many threads (the stress tests): each thread has its own stream and
 * workspace and runs a fixed number of drop-in attention calls (intfa_attention) over a mix of
 * problem classes, each class a different kernel variant, staggered so that fresh variants
 * compile while other threads launch loaded ones. With check_results, every call's output is
 * compared with exact attention on the CPU (a real GPU); without, the driver's own checks
 * (tests/fake_cuda) are all there is. */
#ifndef INTFA_STRESS_H
#define INTFA_STRESS_H

#include "context.h"

#define STRESS_CLASSES 8

typedef struct stress_config {
    int threads;
    int calls_per_thread;
    int check_results;
} stress_config;

typedef struct stress_report {
    long calls, failed_calls, bad_results;
    long launches_expected; /* kernel launches the calls make (quantization and attention) */
    double worst_rel_l2;    /* with check_results: the largest error against its class's bound,
                               as a fraction of the bound (<= 1 passes) */
} stress_report;

/* The class of call i of thread t, and the problem of a class (B 1, H 2, N 96..128). */
int stress_class_of(int thread, int call);
intfa_attn_problem stress_problem(int cls);

/* Kernel launches one intfa_attention call of class cls makes. */
int stress_launches_per_call(int cls);

/* Runs the threads on ctx; failures are counted in the report and printed. */
void stress_run(intfa_context *ctx, const stress_config *cfg, stress_report *out);

#endif
