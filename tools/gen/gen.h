/* gen.h - the parts of intfa-gen (tools/intfa-gen.c, the command line):
 *
 *   select.c    which variants a command works on: a default set, names, a tuning
 *               database's winners, narrowed by filters
 *   pool.c      compiling many variants on a bounded number of threads
 *   aot_cmd.c   --emit-aot (a precompiled kernel table) and --verify (is a table stale?)
 *   aot_emit.c, aot_verify.c (aot_emit.h)   the table's C text, written and read back; a
 *               library of their own (intfa-aot-emit) that the tests link too
 *
 * Functions that can fail print their own message ("intfa-gen: ...") on stderr and return
 * the tool's exit status: 0 done, 1 a failure (compile, write, stale entry), 2 bad usage or
 * bad input (unknown variant, malformed list, unreadable selection file). */
#ifndef INTFA_GEN_H
#define INTFA_GEN_H

#include <stddef.h>

#include "intfa.h"

#define GEN_DEFAULT_ARCHS "sm_80,sm_86,sm_89,sm_90a"
#define GEN_MAX_JOBS 16

/* ------------------------------------------------------------------ selection (select.c) */

typedef struct gen_item {
    intfa_variant v;
    char name[INTFA_VARIANT_NAME_MAX];
} gen_item;

/* Variants sorted by name, each once. */
typedef struct gen_list {
    gen_item *items;
    size_t n;
} gen_list;

/* The options that select variants; NULL when not given. Lists are comma-separated. */
typedef struct gen_selection {
    const char *archs;     /* --arch: targets, a filter (default GEN_DEFAULT_ARCHS when the
                              default set is selected, else none) */
    const char *head_dims; /* --head-dims 64,128 */
    const char *formats;   /* --formats int8,int4      (kinds with a Q/K format) */
    const char *causal;    /* --causal 0,1              (attention kinds) */
    const char *dtypes;    /* --dtypes fp16,bf16 */
    const char *kinds;     /* --kinds attn_fwd,quant_qk,quant_v,attn_fp16 */
    const char *p_quant;   /* --p-quant pu8,ps8          (attn_fwd) */
    const char *variants;  /* --variants NAME,...: these instead of the default set */
    const char *tuning_db; /* --from-tuning-db FILE: its winners instead of the default set */
    int default_set;       /* --default-set: the default set as well */
} gen_selection;

/* The selected variants (at least one) into *out (free with gen_list_free). */
int gen_select(const gen_selection *s, gen_list *out);
void gen_list_free(gen_list *l);

/* ------------------------------------------------------------------ compiling (pool.c) */

typedef struct gen_job {
    intfa_variant v;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status status;
    char *message; /* malloc'd on failure */
    void *cubin;   /* intfa_free */
    size_t size;
    double ms;
    int through_cache; /* 1: fetched through the kernel cache (compiled and published on a miss) */
} gen_job;

/* Online CPUs, at most GEN_MAX_JOBS. */
int gen_default_jobs(void);

/* One job per item of l (*jobs calloc'd; gen_jobs_free). */
int gen_jobs_of(const gen_list *l, gen_job **jobs);
void gen_jobs_free(gen_job *jobs, size_t n);

/* Compiles every job (intfa_variant_compile) on up to threads threads, printing
 * "[k/n] NAME ms" to stderr as each one ends. 0, or 1 when no thread could start; the jobs'
 * own failures are in their status. */
int gen_compile_all(gen_job *jobs, size_t n, int threads);

/* Prints "compiling N variants on T jobs with NVRTC x.y (options)" to stderr. */
void gen_announce(size_t n, int threads);

/* Milliseconds on a monotonic clock. */
double gen_now_ms(void);

/* Writes size bytes to path (replacing it). 0, or 1 after a message. */
int gen_write_file(const char *path, const void *bytes, size_t size);

/* Creates dir unless it exists (mode 0777 before the umask). 0, or 1 after a message. */
int gen_mkdir(const char *dir);

/* ------------------------------------------------------------------ tables (aot_cmd.c) */

/* Compiles l on threads threads and writes dir/cubins/<name>.cubin for each variant (and
 * removes other .cubin files there), dir/intfa_aot_table.c and dir/intfa_aot_table.h. */
int gen_emit_aot(const char *dir, const gen_list *l, int threads);

/* Checks the table in path (an intfa_aot_table.c or the directory holding one) against this
 * generator; with recompile, also compiles every entry again and compares the bytes. Prints
 * "fresh NAME" or "stale NAME: why" per entry and a total; 1 when any entry is stale. */
int gen_verify(const char *path, int recompile, int threads);

#endif
