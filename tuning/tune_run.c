/* tune_run.c - a tuning run: candidates, parallel compiles, timing, ranking, verification
 * (see tune_run.h). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "parallel.h"
#include "tune_rank.h"
#include "tune_run.h"
#include "tune_space.h"

typedef struct unique_variant {
    intfa_variant v;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status status;
    char message[512];
} unique_variant;

/* Everything one run works on. */
typedef struct run_state {
    const intfa_tune_backend *b;
    const intfa_tune_options *o;
    intfa_arch arch;
    size_t n;
    intfa_variant (*cand)[INTFA_TUNE_MAX_CANDIDATES]; /* per class */
    size_t (*uid)[INTFA_TUNE_MAX_CANDIDATES];         /* index into uniq */
    size_t *ncand;
    unique_variant *uniq;
    size_t nuniq;
    pthread_mutex_t lock; /* compile progress */
    size_t compiled;
} run_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The first failure of a class, for its message. */
typedef struct first_failure {
    intfa_status status;
    char message[400];
} first_failure;

/* Logs a candidate's failure and remembers it if it is the class's first. */
static void failure(const run_state *s, const char *cls, const char *name, intfa_status st,
                    const char *msg, first_failure *first)
{
    if (s->o && s->o->log) fprintf(s->o->log, "tune: %s: %s: %s\n", cls, name, msg);
    if (first->status != INTFA_OK) return;
    first->status = st;
    if (snprintf(first->message, sizeof first->message, "%s: %s", name, msg) < 0) first->message[0] = '\0';
}

static void compile_one(void *arg, size_t i)
{
    run_state *s = arg;
    unique_variant *u = &s->uniq[i];
    u->status = s->b->compile(s->b->self, &u->v);
    if (u->status != INTFA_OK) snprintf(u->message, sizeof u->message, "%s", intfa_last_error());
    pthread_mutex_lock(&s->lock);
    s->compiled++;
    if (s->o && s->o->on_compile) s->o->on_compile(s->o->user, s->compiled, s->nuniq);
    pthread_mutex_unlock(&s->lock);
}

/* Candidates of every class, and the distinct variants among them in first-seen order. */
static intfa_status plan(run_state *s, const intfa_tune_class *classes,
                         intfa_tune_result *results)
{
    for (size_t i = 0; i < s->n; i++) {
        intfa_tune_result *r = &results[i];
        intfa_status st = intfa_tune_candidates(&classes[i], s->arch, s->cand[i], INTFA_TUNE_MAX_CANDIDATES,
                                                &s->ncand[i], &r->pruned);
        if (st != INTFA_OK) {
            r->status = st;
            snprintf(r->message, sizeof r->message, "%s", intfa_last_error());
            s->ncand[i] = 0;
            continue;
        }
        if (s->o && s->o->max_candidates && s->ncand[i] > s->o->max_candidates)
            s->ncand[i] = s->o->max_candidates;
        r->candidates = s->ncand[i];
        for (size_t j = 0; j < s->ncand[i]; j++) {
            char name[INTFA_VARIANT_NAME_MAX];
            if ((st = intfa_variant_name(&s->cand[i][j], name, sizeof name)) != INTFA_OK) return st;
            size_t u = 0;
            while (u < s->nuniq && strcmp(s->uniq[u].name, name) != 0) u++;
            if (u == s->nuniq) {
                s->uniq[u].v = s->cand[i][j];
                memcpy(s->uniq[u].name, name, sizeof name);
                s->nuniq++;
            }
            s->uid[i][j] = u;
        }
    }
    return INTFA_OK;
}

/* Times, ranks and verifies the candidates of class i. */
static void tune_class(run_state *s, size_t i, const intfa_tune_class *c, intfa_tune_result *r)
{
    char cls[INTFA_TUNE_CLASS_TEXT_MAX];
    intfa_tune_class_format(c, cls, sizeof cls);
    intfa_attn_problem p;
    intfa_status st = intfa_tune_class_problem(c, &p);
    if (st == INTFA_OK) st = s->b->prepare(s->b->self, c, &p);
    if (st != INTFA_OK) {
        r->status = st;
        snprintf(r->message, sizeof r->message, "class %s: preparing inputs: %s", cls, intfa_last_error());
        if (s->o && s->o->log) fprintf(s->o->log, "tune: %s\n", r->message);
        return;
    }
    intfa_variant def;
    char def_name[INTFA_VARIANT_NAME_MAX] = "";
    if (intfa_variant_default(INTFA_KIND_ATTN_FWD, s->arch, c->head_dim, c->qk_format,
                              c->causal, c->dtype, c->p_quant, &def) == INTFA_OK)
        intfa_variant_name(&def, def_name, sizeof def_name);
    const size_t nc = s->ncand[i];
    double ms[INTFA_TUNE_MAX_CANDIDATES];
    first_failure first = {INTFA_OK, ""};
    for (size_t j = 0; j < nc; j++) {
        const unique_variant *u = &s->uniq[s->uid[i][j]];
        ms[j] = INFINITY;
        st = u->status;
        const char *msg = u->message;
        if (st == INTFA_OK) {
            st = s->b->time_variant(s->b->self, &u->v, &ms[j]);
            msg = intfa_last_error();
            if (st == INTFA_OK && !(isfinite(ms[j]) && ms[j] > 0)) {
                st = intfa_fail(INTFA_ERR_INTERNAL, "time %g ms is not finite and positive", ms[j]);
                msg = intfa_last_error();
            }
        }
        if (st != INTFA_OK) {
            ms[j] = INFINITY;
            r->failed++;
            failure(s, cls, u->name, st, msg, &first);
        }
        if (strcmp(u->name, def_name) == 0) r->default_ms = ms[j];
    }
    size_t order[INTFA_TUNE_MAX_CANDIDATES], ranked = 0;
    intfa_tune_rank(ms, nc, order, &ranked);
    for (size_t k = 0; k < ranked; k++) {
        const unique_variant *u = &s->uniq[s->uid[i][order[k]]];
        st = s->b->verify(s->b->self, &u->v);
        if (st == INTFA_OK) {
            r->status = INTFA_OK;
            r->entry.cls = *c;
            r->entry.winner = u->v;
            r->entry.ms = ms[order[k]];
            if (k + 1 < ranked) {
                r->entry.has_runner_up = 1;
                r->entry.runner_up = s->uniq[s->uid[i][order[k + 1]]].v;
                r->entry.runner_ms = ms[order[k + 1]];
            }
            return;
        }
        r->rejected++;
        failure(s, cls, u->name, st, intfa_last_error(), &first);
    }
    r->status = first.status != INTFA_OK ? first.status : INTFA_ERR_INTERNAL;
    if (snprintf(r->message, sizeof r->message, "class %s: no candidate ran and checked out (%zu failed, "
                 "%zu disagreed with the reference); first: %s", cls, r->failed, r->rejected,
                 first.message) < 0)
        r->message[0] = '\0';
}

static intfa_status check_args(const intfa_tune_backend *b, intfa_arch arch,
                               const intfa_tune_class *classes, size_t n,
                               const intfa_tune_options *o, const intfa_tune_result *results)
{
    if (!b || !b->compile || !b->prepare || !b->time_variant || !b->verify)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune run: backend %s", !b ? "is NULL" : "lacks a function");
    if ((unsigned)arch >= INTFA_ARCH_COUNT)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune run: arch = %d: not an intfa_arch", (int)arch);
    if (n == 0 || !classes || !results)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune run: n = %zu, classes %p, results %p: "
                          "need n > 0 and both", n, (const void *)classes, (const void *)results);
    if (o && (o->jobs < 0 || o->jobs > INTFA_MAX_JOBS))
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune run: jobs = %d: not 0..%d", o->jobs, INTFA_MAX_JOBS);
    for (size_t i = 0; i < n; i++) {
        intfa_status st = intfa_tune_class_check(&classes[i]);
        if (st != INTFA_OK) return intfa_fail_wrap(st, "tune run: classes[%zu]", i);
    }
    return INTFA_OK;
}

intfa_status intfa_tune_run(const intfa_tune_backend *b, intfa_arch arch,
                            const intfa_tune_class *classes, size_t n,
                            const intfa_tune_options *o, intfa_tune_result *results,
                            intfa_tune_stats *stats)
{
    intfa_status st = check_args(b, arch, classes, n, o, results);
    if (st != INTFA_OK) return st;
    run_state s = {b, o, arch, n, NULL, NULL, NULL, NULL, 0, PTHREAD_MUTEX_INITIALIZER, 0};
    s.cand = calloc(n, sizeof *s.cand);
    s.uid = calloc(n, sizeof *s.uid);
    s.ncand = calloc(n, sizeof *s.ncand);
    s.uniq = calloc(n * INTFA_TUNE_MAX_CANDIDATES, sizeof *s.uniq);
    if (!s.cand || !s.uid || !s.ncand || !s.uniq) {
        st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune run: out of host memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].cls = classes[i];
        results[i].status = INTFA_ERR_INTERNAL;
        results[i].default_ms = INFINITY;
    }
    if ((st = plan(&s, classes, results)) != INTFA_OK) goto out;

    const int jobs = o && o->jobs ? o->jobs : intfa_default_jobs();
    double t0 = now_s();
    intfa_parallel(s.nuniq, jobs, compile_one, &s);
    double t1 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (s.ncand[i] > 0) tune_class(&s, i, &classes[i], &results[i]);
        if (o && o->on_class) o->on_class(o->user, i + 1, n, &results[i]);
    }
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->compiles = s.nuniq;
        for (size_t u = 0; u < s.nuniq; u++) stats->compile_failures += s.uniq[u].status != INTFA_OK;
        stats->jobs = jobs;
        stats->compile_s = t1 - t0;
        stats->measure_s = now_s() - t1;
    }
    st = INTFA_OK;
    for (size_t i = 0; i < n && st == INTFA_OK; i++)
        if (results[i].status != INTFA_OK) st = intfa_fail(results[i].status, "%s", results[i].message);
out:
    pthread_mutex_destroy(&s.lock);
    free(s.cand);
    free(s.uid);
    free(s.ncand);
    free(s.uniq);
    return st;
}
