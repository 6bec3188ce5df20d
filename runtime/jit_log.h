/* jit_log.h - what a user sees of kernel builds: with verbose logging, one line per binary
 * (variant, where it came from, ms) and "compiling ..." before NVRTC starts; without it, a
 * compile that runs past a delay still says what it is doing, so a first call never looks
 * hung. All output goes to stderr, one line per fprintf. */
#ifndef INTFA_JIT_LOG_H
#define INTFA_JIT_LOG_H

#include <pthread.h>

#include "cache.h"

#define INTFA_JIT_PROGRESS_DELAY_MS 1000

/* A notice for one compile in progress. */
typedef struct intfa_jit_progress {
    char name[INTFA_VARIANT_NAME_MAX];
    char target[16];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t watcher;
    int delay_ms;
    int watching; /* the watcher thread runs */
    int done;     /* the compile finished (guarded by lock) */
    int printed;  /* the "compiling" line was printed (guarded by lock) */
} intfa_jit_progress;

/* Starts the notice for compiling name for target: prints "intfa: compiling <name> for
 * <target> ..." at once when delay_ms is 0, nothing when it is negative, else from a watcher
 * thread after delay_ms unless the compile finished first. Never fails: without a thread
 * there is no delayed notice. */
void intfa_jit_progress_start(intfa_jit_progress *p, const char *name, const char *target,
                              int delay_ms);

/* Ends the notice (joins the watcher). If the delayed notice was printed, prints "intfa:
 * compiled <name> in <ms> ms" (ok) or "intfa: compiling <name> failed" (!ok). */
void intfa_jit_progress_stop(intfa_jit_progress *p, int ok, double ms);

/* "intfa: <name> for <target>: <from> in <ms> ms" (verbose logging). */
void intfa_jit_log_binary(const char *name, const char *target, intfa_binary_source from,
                          double ms);

/* Milliseconds on a monotonic clock. */
double intfa_jit_now_ms(void);

#endif
