/* error.h - the one error convention: a status plus a thread-local message naming what was
 * wrong and with which value. */
#ifndef INTFA_ERROR_H
#define INTFA_ERROR_H

#include "intfa.h"

/* Sets this thread's last-error message (printf format) and returns status, so a failing
 * path reads: return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "head_dim = %d: ...", d); */
intfa_status intfa_fail(intfa_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears the message (called on entry of public functions that can fail). */
void intfa_clear_error(void);

/* Appends context to the current message: "<prefix>: <previous message>". Returns status. */
intfa_status intfa_fail_wrap(intfa_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
