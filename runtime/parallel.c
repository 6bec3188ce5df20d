/* parallel.c - a bounded thread pool: workers take the next item under a lock. */
#include <pthread.h>
#include <unistd.h>

#include "parallel.h"

#define DEFAULT_JOBS 8

int intfa_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > DEFAULT_JOBS ? DEFAULT_JOBS : (int)n;
}

typedef struct pool {
    pthread_mutex_t lock;
    size_t next, n;
    void (*work)(void *arg, size_t i);
    void *arg;
} pool;

static void *worker(void *p_)
{
    pool *p = p_;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        const size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i == p->n) return NULL;
        p->work(p->arg, i);
    }
}

void intfa_parallel(size_t n, int threads, void (*work)(void *arg, size_t i), void *arg)
{
    pool p = {PTHREAD_MUTEX_INITIALIZER, 0, n, work, arg};
    pthread_t tid[INTFA_MAX_JOBS];
    int started = 0;
    if (threads > INTFA_MAX_JOBS) threads = INTFA_MAX_JOBS;
    while (started + 1 < threads && (size_t)started + 1 < n &&
           pthread_create(&tid[started], NULL, worker, &p) == 0)
        started++;
    worker(&p);
    for (int i = 0; i < started; i++) pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&p.lock);
}
