/* tune_db_file.h - the tuning database on disk: where it is, reading it, and replacing it
 * atomically (a temporary file in the same directory, fsync, rename), so a reader sees the
 * old file or the new one, never a part. Concurrent writers do not corrupt the file; the last
 * rename wins (docs/TUNING.md). */
#ifndef INTFA_TUNE_DB_FILE_H
#define INTFA_TUNE_DB_FILE_H

#include "tune_db.h"

#define INTFA_TUNE_DB_FILE_MAX (16u << 20) /* larger files are rejected unread */

/* The database path: explicit when non-NULL and non-empty, else $INTFA_TUNING_DB, else
 * <cache dir>/tuning.db with cache dir = cache_dir when non-NULL and non-empty, else
 * $INTFA_CACHE_DIR, else $XDG_CACHE_HOME/intfa, else $HOME/.cache/intfa. Creates nothing.
 * *path is malloc'd. INTFA_ERR_IO when nothing names a location (no HOME). */
intfa_status intfa_tune_db_path(const char *explicit_path, const char *cache_dir, char **path);

/* Reads and parses the file at path into *db (init'ed by the call; free it). A missing file is
 * an empty database (*exists = 0; exists may be NULL). Malformed: INTFA_ERR_CORRUPT
 * "<path>:<line>: ..."; unreadable: INTFA_ERR_IO. On failure *db is empty. */
intfa_status intfa_tune_db_load(const char *path, intfa_tune_db *db, int *exists);

/* Replaces the file at path by db's text form, atomically; creates missing parent
 * directories. INTFA_ERR_IO naming the path and the reason. */
intfa_status intfa_tune_db_save(const char *path, const intfa_tune_db *db);

/* Re-reads path, puts the n entries into key's section (replacing same-class entries) and
 * saves it. A malformed existing file is not overwritten: INTFA_ERR_CORRUPT. */
intfa_status intfa_tune_db_update(const char *path, const intfa_tune_key *key,
                                  const intfa_tune_entry *entries, size_t n);

#endif
