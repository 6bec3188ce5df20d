/* template.h - kernel templates: CUDA C with a small Lua template syntax, expanded by an
 * embedded Lua 5.4.
 *
 * Syntax (one template line is one Lua line, so errors carry the template's line numbers):
 *   - a line whose first non-blank characters are "//%" is Lua code (the rest of the line);
 *   - elsewhere "${expr}" is replaced by tostring(expr), expr being a Lua expression;
 *   - every other character is copied as it is.
 * The Lua environment holds the variables given by the caller (one global table `v`, see
 * render.c), the libraries string, math and table (no io, os or package), and
 * include("name"), which expands another template in place with the same variables.
 */
#ifndef INTFA_TEMPLATE_H
#define INTFA_TEMPLATE_H

#include <stddef.h>
#include "intfa.h"

typedef struct intfa_embedded_template {
    const char *name; /* file name, e.g. "attn_fwd.cu" */
    const char *text;
    size_t size;
} intfa_embedded_template;

/* Generated at build time (cmake/embed_templates.cmake); ends with a {0,0,0} entry. */
extern const intfa_embedded_template intfa_embedded_templates[];

/* One variable handed to a template as v.<name>: a string, an integer or a boolean. */
typedef enum { INTFA_TV_STRING, INTFA_TV_INT, INTFA_TV_BOOL } intfa_tvar_type;
typedef struct intfa_tvar {
    const char *name;
    intfa_tvar_type type;
    const char *s;
    long long i; /* INT and BOOL */
} intfa_tvar;

/* Text of a template by file name: from $INTFA_TEMPLATE_DIR when that is set and non-empty
 * (development), else the embedded copy. *text is malloc'd (free it); *origin (optional)
 * receives a malloc'd path-like name used in error messages ("templates/attn_fwd.cu" or the
 * embedded name). */
intfa_status intfa_template_load(const char *name, char **text, size_t *size, char **origin);

/* Expand template text (origin names it in errors) with vars. *out is malloc'd.
 * Errors: INTFA_ERR_TEMPLATE with "origin:line: message". */
intfa_status intfa_template_expand(const char *text, size_t size, const char *origin,
                                   const intfa_tvar *vars, size_t nvars, char **out);

/* What one expansion may use: MiB of output, MiB the Lua state holds, Lua instructions run
 * (counted in steps of 1000), and seconds (the backstop for instructions whose cost grows with their
 * operands, such as comparing long strings; checked every 1000 instructions). Exceeding one
 * is INTFA_ERR_TEMPLATE naming it. */
typedef struct intfa_template_limits {
    int output_mib;            /* default 16 */
    int memory_mib;            /* default 256 */
    long long instructions;    /* default 100 million */
    int seconds;               /* default 60 */
} intfa_template_limits;

/* Test hook: sets the limits of later expansions (NULL: the defaults), e.g. lower ones so a
 * fuzzer reaches them quickly. Not thread-safe to change while expansions run. */
void intfa_template_set_limits(const intfa_template_limits *limits);

/* A 64-bit FNV-1a hash of all embedded templates (part of cache keys). */
unsigned long long intfa_template_hash(void);

#endif
