/* aot_empty_table.c - the precompiled kernel table of the plain libraries (libintfa-jit): no
 * entries, so every kernel comes from the cache or NVRTC. cmake/aot.cmake compiles this file
 * into intfa-jit and intfa-jit-static only; the AOT libraries get a generated table instead
 * (aot.h). It defines nothing else, so a program that links a generated table of its own
 * ahead of libintfa-jit.a never pulls this one in. */
#include "aot.h"

const intfa_aot_table intfa_aot_builtin = {INTFA_AOT_FORMAT, 0, NULL};
