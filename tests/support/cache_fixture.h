/* cache_fixture.h - what the kernel cache tests share: scratch directories, stderr captured
 * into a string, whole-file reads and writes, file ages, and small real variants (quant_qk:
 * about 70 ms each to compile). Every helper aborts the test program on a setup failure. */
#ifndef INTFA_CACHE_FIXTURE_H
#define INTFA_CACHE_FIXTURE_H

#include <stddef.h>

#include "intfa.h"

/* A new empty directory under $TMPDIR (or /tmp); malloc'd path. */
char *fixture_mkdtemp(const char *tag);

/* Removes dir with everything below it. */
void fixture_rmtree(const char *dir);

/* Number of files in dir whose name starts with prefix ("" for all; . and .. excluded). */
size_t fixture_count_files(const char *dir, const char *prefix);

/* The first file in dir whose name starts with prefix, as a malloc'd full path; NULL if none. */
char *fixture_find_file(const char *dir, const char *prefix);

/* Whole-file read (malloc'd, NULL if absent) and write (replacing, not atomically). */
void *fixture_read_file(const char *path, size_t *size);
void fixture_write_file(const char *path, const void *bytes, size_t size);

/* Sets a file's access and modification times to now - seconds_ago. */
void fixture_set_age(const char *path, long seconds_ago);

/* Redirects stderr (fd 2) into a temporary file until fixture_stderr_end, which restores it
 * and returns what was written (malloc'd, NUL-terminated). Not nestable. */
void fixture_stderr_begin(void);
char *fixture_stderr_end(void);

/* Number of lines of text that contain needle. */
int fixture_count_lines(const char *text, const char *needle);

/* The variant of a canonical name (aborts if it does not parse). */
intfa_variant fixture_variant(const char *name);

#endif
