/* chooser.h - the one way run-time code reaches the tuning layer (docs/ARCHITECTURE.md).
 *
 * Selection (select.c) asks a context's chooser for a tuned variant and falls back to the
 * built-in per-arch default. The chooser owns everything about tuned winners: the tuning
 * database as the context sees it and the tune-on-first-use policy, which launches kernels
 * through the runtime's own interface (attention_launch.h). The runtime knows the chooser only
 * by this table of functions, so it includes no tuning/ header and the dependencies point one
 * way: tuning/ -> runtime/.
 *
 * intfa_create registers intfa_chooser_builtin on every context; the tuning layer defines it
 * (tuning/tune_choose.c). */
#ifndef INTFA_CHOOSER_H
#define INTFA_CHOOSER_H

#include "intfa.h"

typedef struct intfa_chooser {
    /* The per-context state, made once by intfa_create; *state may be left NULL. */
    intfa_status (*create)(void **state);
    /* Frees what create made. NULL is allowed. */
    void (*destroy)(void *state);
    /* The tuned variant for p on ctx (state: ctx's), tuning it first when the context's
     * options say so. *found = 0 when there is none: the caller uses the built-in default.
     * Fails only on a problem it cannot place; trouble with the database or with tuning is
     * warned about, never a failure. Thread-safe. */
    intfa_status (*choose)(intfa_context *ctx, void *state, const intfa_attn_problem *p,
                           intfa_variant *out, int *found);
} intfa_chooser;

/* The chooser intfa_create registers on each context. */
extern const intfa_chooser intfa_chooser_builtin;

#endif
