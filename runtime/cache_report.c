/* cache_report.c - what the cache tells: counters of this process, and warnings printed once
 * per process and subject (a corrupt entry, an unusable directory), so that a bad cache is
 * visible but does not flood stderr. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "error.h"

static _Atomic uint64_t counters[INTFA_CACHE_COUNTER_COUNT];

void intfa_cache_count(intfa_cache_counter counter, uint64_t n)
{
    if ((unsigned)counter < INTFA_CACHE_COUNTER_COUNT)
        atomic_fetch_add(&counters[counter], n);
}

intfa_status intfa_cache_stats_get(intfa_cache_stats *out)
{
    if (!out)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "intfa_cache_stats_get: out is NULL");
    intfa_cache_stats s = {
        .aot_hits = atomic_load(&counters[INTFA_CACHE_AOT_HITS]),
        .memory_hits = atomic_load(&counters[INTFA_CACHE_MEMORY_HITS]),
        .disk_hits = atomic_load(&counters[INTFA_CACHE_DISK_HITS]),
        .compiles = atomic_load(&counters[INTFA_CACHE_COMPILES]),
        .jit_refused = atomic_load(&counters[INTFA_CACHE_JIT_REFUSED]),
        .corrupt = atomic_load(&counters[INTFA_CACHE_CORRUPT]),
        .publish_failures = atomic_load(&counters[INTFA_CACHE_PUBLISH_FAILURES]),
        .evicted = atomic_load(&counters[INTFA_CACHE_EVICTED]),
        .stale_temps = atomic_load(&counters[INTFA_CACHE_STALE_TEMPS]),
    };
    *out = s;
    return INTFA_OK;
}

intfa_status intfa_cache_stats_reset(void)
{
    for (int i = 0; i < INTFA_CACHE_COUNTER_COUNT; i++)
        atomic_store(&counters[i], 0);
    return INTFA_OK;
}

/* The subjects already reported: a small list, searched linearly (a process sees few). */
static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static char **warned;
static size_t n_warned, cap_warned;

/* 1 if id is new (and now remembered). When memory runs out the id is not remembered and the
 * warning printed again later: better twice than never. */
static int first_report(const char *id)
{
    int first = 1;
    pthread_mutex_lock(&warned_lock);
    for (size_t i = 0; i < n_warned && first; i++)
        if (strcmp(warned[i], id) == 0)
            first = 0;
    if (first) {
        if (n_warned == cap_warned) {
            size_t cap = cap_warned ? 2 * cap_warned : 16;
            char **grown = realloc(warned, cap * sizeof *grown);
            if (grown) {
                warned = grown;
                cap_warned = cap;
            }
        }
        char *copy = n_warned < cap_warned ? strdup(id) : NULL;
        if (copy)
            warned[n_warned++] = copy;
    }
    pthread_mutex_unlock(&warned_lock);
    return first;
}

int intfa_cache_warn_once(const char *id, const char *fmt, ...)
{
    if (!id || !fmt || !first_report(id))
        return 0;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "intfa: %s\n", line);
    return 1;
}
