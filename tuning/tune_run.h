/* tune_run.h - one tuning run: for each class, its candidates (tune_space.h) are compiled in
 * parallel (each distinct variant once, however many classes share it), timed on the class's
 * representative problem, ranked (tune_rank.h), and the first ranked candidate whose output
 * agrees with the C reference wins. Failures (compile, launch, resources, a non-finite time)
 * score as infinitely slow and are reported.
 *
 * The measuring is behind a backend, so that the CPU tests drive the same run with a fake
 * one (scripted times and failures, counted compiles); tune_gpu.h is the real one. */
#ifndef INTFA_TUNE_RUN_H
#define INTFA_TUNE_RUN_H

#include <stdio.h>

#include "tune_db.h"

typedef struct intfa_tune_backend {
    void *self;
    /* Builds v's binary (or fetches it from the kernel cache). Called from several threads
     * at once, before any prepare. */
    intfa_status (*compile)(void *self, const intfa_variant *v);
    /* Makes p, the representative problem of cls, the one later calls time and verify. */
    intfa_status (*prepare)(void *self, const intfa_tune_class *cls, const intfa_attn_problem *p);
    /* The median time of v on the prepared problem, in ms. */
    intfa_status (*time_variant)(void *self, const intfa_variant *v, double *ms);
    /* INTFA_OK when v's output on the prepared problem agrees with the C reference. */
    intfa_status (*verify)(void *self, const intfa_variant *v);
} intfa_tune_backend;

typedef struct intfa_tune_result {
    intfa_tune_class cls;
    intfa_status status;     /* INTFA_OK: entry holds the winner */
    char message[512];       /* why, when status != INTFA_OK */
    intfa_tune_entry entry;  /* winner, its median, the runner-up */
    double default_ms;       /* the built-in default's median; INFINITY if it failed or was
                                not among the candidates */
    size_t candidates;       /* timed or tried */
    size_t pruned;           /* rejected by the resource checks, never compiled */
    size_t failed;           /* compile, launch or timing failures */
    size_t rejected;         /* ranked but their output disagreed with the reference */
} intfa_tune_result;

typedef struct intfa_tune_options {
    int jobs;               /* parallel compiles, 1..INTFA_MAX_JOBS; 0: min(8, online CPUs) */
    size_t max_candidates;  /* 0: all; else only the first ones of the fixed order */
    FILE *log;              /* each failure as it happens ("tune: ..."); NULL: silent */
    void (*on_compile)(void *user, size_t done, size_t total); /* after each compile (serialized) */
    void (*on_class)(void *user, size_t k, size_t n, const intfa_tune_result *r); /* k from 1 */
    void *user;
} intfa_tune_options;

typedef struct intfa_tune_stats {
    size_t compiles;          /* distinct variants compiled (or fetched) */
    size_t compile_failures;
    int jobs;                 /* threads used for them */
    double compile_s;         /* wall time of the compile phase */
    double measure_s;         /* wall time of preparing, timing and verifying */
} intfa_tune_stats;

/* Tunes classes[0..n) for arch with backend b; o and stats may be NULL. results[0..n) are
 * always written (each with its own status). Returns INTFA_OK when every class has a winner,
 * else the status and message of the first class that has none. */
intfa_status intfa_tune_run(const intfa_tune_backend *b, intfa_arch arch,
                            const intfa_tune_class *classes, size_t n,
                            const intfa_tune_options *o, intfa_tune_result *results,
                            intfa_tune_stats *stats);

#endif
