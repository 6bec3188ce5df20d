/* tune_rank.h - the order in which timed candidates are considered. Failures (non-finite or
 * non-positive times) are never ranked. Among the rest, the next one is the earliest in the
 * fixed candidate order whose time is within INTFA_TUNE_TIE of the fastest remaining one: a
 * near-tie is a tie, broken by the order, so the same measurements up to noise give the same
 * winner in every process. The first ranked candidate whose output checks out wins. */
#ifndef INTFA_TUNE_RANK_H
#define INTFA_TUNE_RANK_H

#include <stddef.h>

#define INTFA_TUNE_TIE 0.02 /* relative: within 2% of the fastest is a tie */

/* Writes the ranked indices into ms[0..n) to order[0..*ranked) (order holds n entries). */
void intfa_tune_rank(const double *ms, size_t n, size_t *order, size_t *ranked);

#endif
