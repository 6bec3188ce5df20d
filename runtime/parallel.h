/* parallel.h - a bounded pool of threads: the compiles of one call or of a warm-up (runtime),
 * and the tuner's. */
#ifndef INTFA_PARALLEL_H
#define INTFA_PARALLEL_H

#include <stddef.h>

#define INTFA_MAX_JOBS 16

/* min(8, online CPUs), at least 1. */
int intfa_default_jobs(void);

/* Runs work(arg, i) once for every i in [0, n), on at most `threads` threads (at most INTFA_MAX_JOBS), the calling
 * thread among them; returns when all are done. Items are taken in increasing order. If
 * threads cannot be started, fewer do the work (at worst the calling thread alone). */
void intfa_parallel(size_t n, int threads, void (*work)(void *arg, size_t i), void *arg);

#endif
