/* pool.c - intfa-gen's compiles: every job on a bounded number of threads taking the next
 * job from a shared counter; results stay in the jobs, in their order. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "gen.h"
#include "nvrtc_compile.h"

typedef struct pool {
    gen_job *jobs;
    size_t n;
    size_t next; /* next job to take */
    size_t done;
    pthread_mutex_t lock;
} pool;

double gen_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void gen_announce(size_t n, int threads)
{
    int nv = intfa_nvrtc_version();
    fprintf(stderr, "compiling %zu variants on %d jobs with NVRTC %d.%d (%s)\n", n, threads,
            nv / 1000, nv % 1000 / 10, intfa_nvrtc_options_string());
}

int gen_default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > GEN_MAX_JOBS ? GEN_MAX_JOBS : (int)n;
}

int gen_jobs_of(const gen_list *l, gen_job **jobs)
{
    gen_job *j = calloc(l->n ? l->n : 1, sizeof *j);
    if (!j) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < l->n; i++) {
        j[i].v = l->items[i].v;
        memcpy(j[i].name, l->items[i].name, sizeof j[i].name);
    }
    *jobs = j;
    return 0;
}

void gen_jobs_free(gen_job *jobs, size_t n)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].message);
        intfa_free(jobs[i].cubin);
    }
    free(jobs);
}

/* The job's cubin from the kernel cache ($INTFA_CACHE_DIR, else the default directory),
 * compiled and published there on a miss: what a later process's first call will find. */
static intfa_status fetch_through_cache(gen_job *j)
{
    const intfa_cache_config cfg = {.dir = NULL, .max_bytes = 0, .verbose = 0, .quiet = 1};
    const double t0 = gen_now_ms();
    intfa_status st = intfa_cache_get_or_build(&cfg, &j->v, 1, &j->cubin, &j->size, NULL);
    j->ms = gen_now_ms() - t0;
    return st;
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i == p->n)
            return NULL;

        gen_job *j = &p->jobs[i];
        j->status = j->through_cache ? fetch_through_cache(j)
                                     : intfa_variant_compile(&j->v, &j->cubin, &j->size, &j->ms);
        if (j->status != INTFA_OK)
            j->message = strdup(intfa_last_error()); /* the message is thread-local */

        pthread_mutex_lock(&p->lock);
        size_t done = ++p->done;
        if (j->status == INTFA_OK)
            fprintf(stderr, "[%zu/%zu] %s %.0f ms\n", done, p->n, j->name, j->ms);
        else
            fprintf(stderr, "[%zu/%zu] %s FAILED (%s)\n", done, p->n, j->name,
                    intfa_status_string(j->status));
        pthread_mutex_unlock(&p->lock);
    }
}

int gen_compile_all(gen_job *jobs, size_t n, int threads)
{
    pool p = {.jobs = jobs, .n = n};
    pthread_t tid[GEN_MAX_JOBS];
    int started = 0;
    if (threads > GEN_MAX_JOBS)
        threads = GEN_MAX_JOBS;
    if ((size_t)threads > n)
        threads = (int)n;
    pthread_mutex_init(&p.lock, NULL);
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &p) != 0)
            break;
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&p.lock);
    if (started == 0 && n > 0) {
        fprintf(stderr, "intfa-gen: cannot start a compile thread\n");
        return 1;
    }
    return 0;
}

int gen_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(bytes, 1, size, f) == size;
    int err = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok)
        fprintf(stderr, "intfa-gen: write %s: %s\n", path, strerror(err));
    return ok ? 0 : 1;
}

int gen_mkdir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    fprintf(stderr, "intfa-gen: cannot create directory %s: %s\n", dir,
            errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return 1;
}
