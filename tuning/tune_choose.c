/* tune_choose.c - a context's tuned variant for a class, tuning on first use (see
 * tune_choose.h). */
#include <stdio.h>
#include <time.h>

#include "error.h"
#include "tune_choose.h"
#include "tune_db_file.h"
#include "tune_device_key.h"
#include "tune_gpu.h"
#include "tune_state.h"

/* Device key and database path of ctx, then the database. State locked. */
static void load_state(intfa_context *ctx, intfa_tune_state *s)
{
    intfa_tune_key key;
    char *path = NULL;
    if (intfa_tune_device_key(ctx, &key) != INTFA_OK) {
        fprintf(stderr, "intfa: no tuning database key for device %d: %s; using the built-in defaults\n",
                ctx->ordinal, intfa_last_error());
        intfa_tune_state_load(s, NULL, NULL, ctx->opts.verbose, stderr);
        return;
    }
    if (intfa_tune_db_path(ctx->opts.tuning_db, ctx->opts.cache_dir, &path) != INTFA_OK)
        fprintf(stderr, "intfa: %s; tuning results are not kept\n", intfa_last_error());
    intfa_tune_state_load(s, path, &key, ctx->opts.verbose, stderr);
    free(path);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Tunes class c on ctx's GPU; the winner goes into the state and the file. State locked. */
static void tune_now(intfa_context *ctx, intfa_tune_state *s, const intfa_tune_class *c)
{
    char cls[INTFA_TUNE_CLASS_TEXT_MAX], name[INTFA_VARIANT_NAME_MAX];
    intfa_tune_class_format(c, cls, sizeof cls);
    fprintf(stderr, "intfa: tuning %s on first use on %s...\n", cls, ctx->device_name);
    const double t0 = now_s();
    intfa_tune_gpu *g = NULL;
    intfa_tune_result r;
    intfa_status st = intfa_tune_gpu_create(ctx, NULL, &g);
    if (st == INTFA_OK) {
        intfa_tune_backend b;
        intfa_tune_gpu_backend(g, &b);
        const intfa_tune_options o = {0, 0, ctx->opts.verbose ? stderr : NULL, NULL, NULL, NULL};
        st = intfa_tune_run(&b, ctx->arch, c, 1, &o, &r, NULL);
        intfa_tune_gpu_destroy(g);
    }
    if (st == INTFA_OK) st = intfa_tune_state_put(s, &r.entry);
    if (st != INTFA_OK) {
        fprintf(stderr, "intfa: tuning %s failed: %s; using the built-in default\n", cls, intfa_last_error());
        intfa_tune_state_mark_failed(s, c);
        return;
    }
    intfa_variant_name(&r.entry.winner, name, sizeof name);
    fprintf(stderr, "intfa: %s -> %s, %.4f ms (default %.4f ms), tuned in %.1f s\n", cls, name,
            r.entry.ms, r.default_ms, now_s() - t0);
    if (s->path && intfa_tune_db_update(s->path, &s->key, &r.entry, 1) != INTFA_OK)
        fprintf(stderr, "intfa: the winner is kept for this context only: %s\n", intfa_last_error());
}

intfa_status intfa_tune_choose(intfa_context *ctx, const intfa_tune_class *c, intfa_variant *out,
                               int *found)
{
    if (!ctx || !c || !out || !found)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune choose: NULL argument");
    intfa_tune_state *s = ctx->tune;
    if (!s) {
        *found = 0;
        return INTFA_OK;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->loaded) load_state(ctx, s);
    int got = intfa_tune_state_find(s, c, ctx->arch, out);
    if (!got && ctx->opts.tune == INTFA_TUNE_ON_FIRST_USE && s->have_key && !intfa_tune_state_failed(s, c)) {
        tune_now(ctx, s, c);
        got = intfa_tune_state_find(s, c, ctx->arch, out);
    }
    pthread_mutex_unlock(&s->lock);
    *found = got;
    return INTFA_OK;
}
