/* aot_emit.h - a precompiled kernel table as C source (docs/AOT.md): what `intfa-gen
 * --emit-aot` writes and `intfa-gen --verify` reads.
 *
 *   aot_emit.c    the entry of a fresh build; entries -> the text of intfa_aot_table.c and
 *                 intfa_aot_table.h, deterministically; writing both files
 *   aot_verify.c  the .c text read back; an entry checked against the current generator
 *
 * Deterministic: the text depends on the entries only, never on their order, the time, the
 * host or the output directory. Entries are sorted by name (names carry the target, so a name
 * is unique in a table). Each cubin is one string literal of exactly its size (letters and
 * digits as they are, every other byte a three-digit octal escape): compilers read those far
 * faster than brace lists of numbers (1.4 s against 20 s for the 14 MB default set with gcc).
 */
#ifndef INTFA_AOT_EMIT_H
#define INTFA_AOT_EMIT_H

#include <stddef.h>

#include "aot.h"

#define INTFA_AOT_TABLE_C "intfa_aot_table.c"
#define INTFA_AOT_TABLE_H "intfa_aot_table.h"

/* Owned entries: every pointer field malloc'd, released with intfa_aot_entry_release. */

/* The entry of variant v (checked) whose build is the size bytes at cubin (size > 0): its
 * key from v's source as this process renders it, and this library's versions. */
intfa_status intfa_aot_entry_make(const intfa_variant *v, const void *cubin, size_t size,
                                  intfa_aot_entry *out);

/* Frees what an owned entry holds and zeroes it. NULL is allowed. */
void intfa_aot_entry_release(intfa_aot_entry *e);

/* Releases n owned entries and the array. NULL is allowed. */
void intfa_aot_entries_free(intfa_aot_entry *entries, size_t n);

/* The text of intfa_aot_table.c and intfa_aot_table.h for n >= 1 entries with distinct names
 * (any order). *c_text and *h_text are malloc'd and NUL-terminated; the lengths exclude the
 * NUL. */
intfa_status intfa_aot_emit_text(const intfa_aot_entry *entries, size_t n, char **c_text,
                                 size_t *c_len, char **h_text, size_t *h_len);

/* Writes dir/intfa_aot_table.c and dir/intfa_aot_table.h (dir exists); each file is written
 * to a temporary name in dir and renamed over the old one. INTFA_ERR_IO names the path. */
intfa_status intfa_aot_emit_files(const char *dir, const intfa_aot_entry *entries, size_t n);

/* Reads back the text (len bytes) of an intfa_aot_table.c this version generated (origin
 * names it in messages). *entries: a malloc'd array of *n owned entries (intfa_aot_entries_free).
 * Anything it cannot read is INTFA_ERR_CORRUPT "<origin>:<line>: <what>"; outputs unchanged. */
intfa_status intfa_aot_parse(const char *text, size_t len, const char *origin,
                             intfa_aot_entry **entries, size_t *n);

/* Checks e against this process's generator: the name is a valid variant of e's target, the
 * cubin matches its SHA-256, this library built it (intfa_aot_entry_built_here), and e's key
 * equals the key of the variant's source as rendered now (from INTFA_TEMPLATE_DIR's templates
 * when that is set). *ok = 1, or *ok = 0 and why (cap bytes; may be
 * NULL with cap 0) names the first difference. */
intfa_status intfa_aot_entry_verify(const intfa_aot_entry *e, int *ok, char *why, size_t cap);

#endif
