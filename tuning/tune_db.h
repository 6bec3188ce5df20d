/* tune_db.h - the tuning database in memory, and its text form (docs/TUNING.md):
 *
 *     intfa-tuning-db 1
 *     [device]
 *     gpu = NVIDIA H200
 *     sm_count = 132
 *     compute_capability = 9.0
 *     driver = 13000
 *     nvrtc = 13000
 *     library = 0.1.0
 *     d128 int8 fp16 causal pu8 kv<=1024 attn_fwd-sm90a-...-m128n64w8s2 0.052133 attn_fwd-...-m64n64w4s2 0.053020
 *
 * One [device] section per device key (several may coexist), then one line per class: the
 * class (6 tokens), the winner and its median ms, optionally the runner-up and its median ms.
 * '#' starts a comment line. The parser is strict: anything else is INTFA_ERR_CORRUPT with
 * "<origin>:<line>: <what>". Numbers are written and read without the C locale's help.
 * Files: tune_db_file.h. */
#ifndef INTFA_TUNE_DB_H
#define INTFA_TUNE_DB_H

#include <stddef.h>
#include "tune_class.h"

#define INTFA_TUNE_DB_FORMAT 1
#define INTFA_TUNE_GPU_NAME_MAX 256
#define INTFA_TUNE_VERSION_MAX 32
#define INTFA_TUNE_DB_LINE_MAX 1024   /* longer lines are corrupt */
#define INTFA_TUNE_DB_MAX_SECTIONS 256
#define INTFA_TUNE_DB_MAX_ENTRIES 4096 /* per section */

/* What a tuning result is only valid for. Sections match when every field is equal. */
typedef struct intfa_tune_key {
    char gpu[INTFA_TUNE_GPU_NAME_MAX]; /* cuDeviceGetName: printable, no leading/trailing blank */
    int sm_count;
    int cc_major, cc_minor;            /* compute capability */
    int driver_version;                /* cuDriverGetVersion, e.g. 13000 */
    int nvrtc_version;                 /* intfa_nvrtc_version(), e.g. 13000 */
    char library[INTFA_TUNE_VERSION_MAX]; /* intfa_version_string(), no blanks */
} intfa_tune_key;

typedef struct intfa_tune_entry {
    intfa_tune_class cls;
    intfa_variant winner;
    double ms;               /* the winner's median, > 0 */
    int has_runner_up;
    intfa_variant runner_up; /* the next ranked candidate (when has_runner_up) */
    double runner_ms;
} intfa_tune_entry;

typedef struct intfa_tune_section {
    intfa_tune_key key;
    intfa_tune_entry *entries;
    size_t count, cap;
} intfa_tune_section;

typedef struct intfa_tune_db {
    intfa_tune_section *sections;
    size_t count, cap;
} intfa_tune_db;

/* An empty database (no allocation). */
void intfa_tune_db_init(intfa_tune_db *db);
/* Releases everything db owns and leaves it empty. NULL is allowed. */
void intfa_tune_db_free(intfa_tune_db *db);

/* The key's fields are valid: printable name of 1..255 characters without leading or
 * trailing blanks, counts and versions > 0 (cc_minor >= 0), library version without blanks. */
intfa_status intfa_tune_key_check(const intfa_tune_key *key);
int intfa_tune_key_equal(const intfa_tune_key *a, const intfa_tune_key *b);
/* "NVIDIA H200, 132 SMs, cc 9.0, driver 13000, nvrtc 13000, intfa 0.1.0" */
void intfa_tune_key_describe(const intfa_tune_key *key, char *buf, size_t cap);

/* The section of key, or NULL. */
const intfa_tune_section *intfa_tune_db_find(const intfa_tune_db *db, const intfa_tune_key *key);
/* The entry of class c in s, or NULL. */
const intfa_tune_entry *intfa_tune_section_find(const intfa_tune_section *s, const intfa_tune_class *c);

/* Checks an entry: class valid, winner (and runner-up) an attention variant of the class, times
 * finite and > 0. */
intfa_status intfa_tune_entry_check(const intfa_tune_entry *e);

/* Adds entry e to the section of key (created when missing), replacing the entry of the same
 * class. On failure db is unchanged. */
intfa_status intfa_tune_db_put(intfa_tune_db *db, const intfa_tune_key *key, const intfa_tune_entry *e);

/* Copies section s into db, replacing the section with the same key (*replaced = 1) or adding
 * it (*replaced = 0; replaced may be NULL). On failure db is unchanged. */
intfa_status intfa_tune_db_put_section(intfa_tune_db *db, const intfa_tune_section *s, int *replaced);

/* Removes the section of key; *removed = 1 if there was one (may be NULL). */
intfa_status intfa_tune_db_remove(intfa_tune_db *db, const intfa_tune_key *key, int *removed);

/* Parses text (len bytes; need not be NUL-terminated) into *out (which the caller frees with
 * intfa_tune_db_free). An empty or comment-only text is an empty database. On failure *out is
 * unchanged and the status is INTFA_ERR_CORRUPT ("<origin>:<line>: ...") or
 * INTFA_ERR_OUT_OF_MEMORY. */
intfa_status intfa_tune_db_parse(const char *text, size_t len, const char *origin, intfa_tune_db *out);

/* The text form of db. *text is malloc'd and NUL-terminated; *len excludes the NUL. */
intfa_status intfa_tune_db_format(const intfa_tune_db *db, char **text, size_t *len);

#endif
