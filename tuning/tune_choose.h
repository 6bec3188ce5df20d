/* tune_choose.h - the tuned variant for a problem class on a context: the context's state
 * (tune_state.h) is loaded on the first call (device key, database path), a class without a
 * winner is tuned on the spot when the context was created with INTFA_TUNE_ON_FIRST_USE (and
 * the winner saved to the database), never otherwise. Nothing here fails a call: problems with
 * the database or the tuning are warned about on stderr and leave *found = 0 (the caller uses
 * the built-in default). Thread-safe; a first-use tuning holds the context's tuning lock. */
#ifndef INTFA_TUNE_CHOOSE_H
#define INTFA_TUNE_CHOOSE_H

#include "context.h"
#include "tune_class.h"

intfa_status intfa_tune_choose(intfa_context *ctx, const intfa_tune_class *c, intfa_variant *out,
                               int *found);

#endif
