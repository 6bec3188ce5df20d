/* tune_pool.h - a bounded pool of threads for the tuner's compiles. */
#ifndef INTFA_TUNE_POOL_H
#define INTFA_TUNE_POOL_H

#include <stddef.h>

#define INTFA_TUNE_MAX_JOBS 16

/* min(8, online CPUs), at least 1. */
int intfa_tune_default_jobs(void);

/* Runs work(arg, i) once for every i in [0, n), on at most `threads` threads (at most INTFA_TUNE_MAX_JOBS), the calling
 * thread among them; returns when all are done. Items are taken in increasing order. If
 * threads cannot be started, fewer do the work (at worst the calling thread alone). */
void intfa_tune_parallel(size_t n, int threads, void (*work)(void *arg, size_t i), void *arg);

#endif
