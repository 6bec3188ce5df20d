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

/* A 64-bit FNV-1a hash of all embedded templates (part of cache keys). */
unsigned long long intfa_template_hash(void);

#endif
