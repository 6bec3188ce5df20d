/* tune_state.h - what a context keeps of the tuning database: its device's section, read once
 * (no file I/O per call), plus the classes whose tuning on first use failed (not retried).
 * The functions here do no locking: the caller holds s->lock (tune_choose.c does). */
#ifndef INTFA_TUNE_STATE_H
#define INTFA_TUNE_STATE_H

#include <pthread.h>
#include <stdio.h>

#include "tune_db.h"

#define INTFA_TUNE_STATE_MAX_FAILED 64

typedef struct intfa_tune_state {
    pthread_mutex_t lock;
    int loaded;              /* intfa_tune_state_load ran */
    int have_key;            /* key is this device's (else nothing is looked up) */
    intfa_tune_key key;
    char *path;              /* the database file; NULL when none could be named */
    intfa_tune_db db;        /* at most one section: key's */
    size_t ignored;          /* sections of other keys in the file */
    intfa_tune_class failed[INTFA_TUNE_STATE_MAX_FAILED];
    size_t nfailed;
} intfa_tune_state;

intfa_status intfa_tune_state_create(intfa_tune_state **out);
/* NULL is allowed. */
void intfa_tune_state_destroy(intfa_tune_state *s);

/* Reads key's section from the file at path, the first time only. key NULL: the device is
 * unknown and nothing is ever found; path NULL: no file (first-use winners stay in memory). A missing file is empty; a malformed or unreadable one
 * leaves the state empty after one warning to log ("... using the built-in defaults").
 * Sections of other keys are counted in s->ignored and, when verbose, noted once to log.
 * log may be NULL (silent). */
void intfa_tune_state_load(intfa_tune_state *s, const char *path, const intfa_tune_key *key,
                           int verbose, FILE *log);

/* The tuned variant of class c on arch into *out: c's entry, else for a bf16 class the tile
 * configuration of the fp16 class's entry (only the output store differs). Entries whose
 * variant is for another arch or fails intfa_variant_check are skipped. 1 if found, else 0
 * (out unchanged). */
int intfa_tune_state_find(const intfa_tune_state *s, const intfa_tune_class *c, intfa_arch arch,
                          intfa_variant *out);

/* Adds a winner to the state (memory only; tune_db_file.h saves). Needs have_key. */
intfa_status intfa_tune_state_put(intfa_tune_state *s, const intfa_tune_entry *e);

/* Remembering classes whose tuning failed. */
int intfa_tune_state_failed(const intfa_tune_state *s, const intfa_tune_class *c);
void intfa_tune_state_mark_failed(intfa_tune_state *s, const intfa_tune_class *c);

#endif
