/* fuzz_check.h - the harnesses' oracle: a failed check prints what failed and aborts, which
 * libFuzzer reports as a crash and saves the input. */
#ifndef INTFA_FUZZ_CHECK_H
#define INTFA_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "intfa.h"

#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz check failed at %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fprintf(stderr, "\n");                                               \
            abort();                                                             \
        }                                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#endif
