/* jit_log.c - build notices and log lines (see jit_log.h). The delayed notice is a thread that
 * waits on a condition variable with a timeout: the compile signals it when it ends. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "jit_log.h"

double intfa_jit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *watch(void *arg)
{
    intfa_jit_progress *p = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->delay_ms / 1000;
    deadline.tv_nsec += (long)(p->delay_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (!p->done && pthread_cond_timedwait(&p->cond, &p->lock, &deadline) != ETIMEDOUT)
        ;
    if (!p->done) {
        fprintf(stderr, "intfa: compiling %s for %s (first use; the result is cached) ...\n",
                p->name, p->target);
        p->printed = 1;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void intfa_jit_progress_start(intfa_jit_progress *p, const char *name, const char *target,
                              int delay_ms)
{
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->target, sizeof p->target, "%s", target);
    p->delay_ms = delay_ms;
    p->watching = p->done = p->printed = 0;
    if (delay_ms < 0)
        return;
    if (delay_ms == 0) {
        fprintf(stderr, "intfa: compiling %s for %s ...\n", p->name, p->target);
        return;
    }
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return;
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&p->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        pthread_cond_destroy(&p->cond);
        return;
    }
    if (pthread_create(&p->watcher, NULL, watch, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        return;
    }
    p->watching = 1;
}

void intfa_jit_progress_stop(intfa_jit_progress *p, int ok, double ms)
{
    if (!p->watching)
        return;
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->watcher, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    p->watching = 0;
    if (p->printed && ok)
        fprintf(stderr, "intfa: compiled %s in %.0f ms\n", p->name, ms);
    else if (p->printed)
        fprintf(stderr, "intfa: compiling %s failed\n", p->name);
}

void intfa_jit_log_binary(const char *name, const char *target, intfa_binary_source from,
                          double ms)
{
    static const char *const how[] = {
        [INTFA_BINARY_NONE] = "no binary", [INTFA_BINARY_AOT] = "precompiled (AOT table)",
        [INTFA_BINARY_MEMORY] = "memory cache", [INTFA_BINARY_DISK] = "disk cache",
        [INTFA_BINARY_NVRTC] = "compiled (NVRTC)"};
    const char *text = (unsigned)from <= INTFA_BINARY_NVRTC ? how[from] : "?";
    fprintf(stderr, "intfa: %s for %s: %s in %.1f ms\n", name, target, text, ms);
}
