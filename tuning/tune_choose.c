/* tune_choose.c - the chooser the runtime's contexts use (runtime/chooser.h): the tuned
 * variant for a problem's class on a context. The context's state (tune_state.h) is loaded on
 * the first call (device key, database path), a class without a winner is tuned on the spot
 * when the context was created with INTFA_TUNE_ON_FIRST_USE (and the winner saved to the
 * database), never otherwise. Nothing here fails a call but a problem without a class:
 * problems with the database or the tuning are warned about on stderr and leave *found = 0
 * (the caller uses the built-in default). Thread-safe; a first-use tuning holds the context's
 * tuning lock. */
#include <stdio.h>
#include <time.h>

#include "chooser.h"
#include "context.h"
#include "error.h"
#include "tune_class.h"
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

static intfa_status choose(intfa_context *ctx, void *state, const intfa_attn_problem *p,
                           intfa_variant *out, int *found)
{
    intfa_tune_class c;
    intfa_status st = intfa_tune_class_of(p, &c);
    if (st != INTFA_OK) return st;
    if (!ctx || !out || !found)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune choose: NULL argument");
    intfa_tune_state *s = state;
    if (!s) {
        *found = 0;
        return INTFA_OK;
    }
    pthread_mutex_lock(&s->lock);
    if (!s->loaded) load_state(ctx, s);
    int got = intfa_tune_state_find(s, &c, ctx->arch, out);
    if (!got && ctx->opts.tune == INTFA_TUNE_ON_FIRST_USE && s->have_key && !intfa_tune_state_failed(s, &c)) {
        tune_now(ctx, s, &c);
        got = intfa_tune_state_find(s, &c, ctx->arch, out);
    }
    pthread_mutex_unlock(&s->lock);
    *found = got;
    return INTFA_OK;
}

static intfa_status create(void **state)
{
    intfa_tune_state *s = NULL;
    intfa_status st = intfa_tune_state_create(&s);
    if (st == INTFA_OK) *state = s;
    return st;
}

static void destroy(void *state) { intfa_tune_state_destroy(state); }

const intfa_chooser intfa_chooser_builtin = {create, destroy, choose};
