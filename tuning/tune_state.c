/* tune_state.c - a context's view of the tuning database (see tune_state.h). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tune_db_file.h"
#include "tune_state.h"

intfa_status intfa_tune_state_create(intfa_tune_state **out)
{
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune state: out is NULL");
    intfa_tune_state *s = calloc(1, sizeof *s);
    if (!s) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "tune state: out of host memory");
    pthread_mutex_init(&s->lock, NULL);
    intfa_tune_db_init(&s->db);
    *out = s;
    return INTFA_OK;
}

void intfa_tune_state_destroy(intfa_tune_state *s)
{
    if (!s) return;
    intfa_tune_db_free(&s->db);
    free(s->path);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void intfa_tune_state_load(intfa_tune_state *s, const char *path, const intfa_tune_key *key,
                           int verbose, FILE *log)
{
    if (s->loaded) return;
    s->loaded = 1;
    if (!key) return;
    s->key = *key;
    s->have_key = 1; /* winners tuned on first use are kept even without a file */
    if (!path || !(s->path = strdup(path))) return;
    intfa_tune_db file;
    if (intfa_tune_db_load(s->path, &file, NULL) != INTFA_OK) {
        if (log) fprintf(log, "intfa: tuning database: %s; using the built-in defaults\n", intfa_last_error());
        return;
    }
    const intfa_tune_section *mine = intfa_tune_db_find(&file, key);
    s->ignored = file.count - (mine != NULL);
    if (mine && intfa_tune_db_put_section(&s->db, mine, NULL) != INTFA_OK && log)
        fprintf(log, "intfa: tuning database %s: %s; using the built-in defaults\n", s->path, intfa_last_error());
    if (s->ignored && verbose && log) {
        char desc[512];
        intfa_tune_key_describe(key, desc, sizeof desc);
        fprintf(log, "intfa: tuning database %s: ignoring %zu section(s) for other devices or "
                "versions (this one: %s)\n", s->path, s->ignored, desc);
    }
    intfa_tune_db_free(&file);
}

/* v is for arch and still a valid variant of this library. */
static int usable(const intfa_variant *v, intfa_arch arch)
{
    if (v->arch != arch) return 0;
    if (intfa_variant_check(v) == INTFA_OK) return 1;
    intfa_clear_error();
    return 0;
}

int intfa_tune_state_find(const intfa_tune_state *s, const intfa_tune_class *c, intfa_arch arch,
                          intfa_variant *out)
{
    if (!s->have_key || s->db.count == 0) return 0;
    const intfa_tune_section *sec = &s->db.sections[0];
    const intfa_tune_entry *e = intfa_tune_section_find(sec, c);
    if (e && usable(&e->winner, arch)) {
        *out = e->winner;
        return 1;
    }
    if (c->dtype != INTFA_DTYPE_BF16) return 0;
    intfa_tune_class fp16 = *c;
    fp16.dtype = INTFA_DTYPE_FP16;
    if (!(e = intfa_tune_section_find(sec, &fp16))) return 0;
    intfa_variant v = e->winner;
    v.dtype = INTFA_DTYPE_BF16;
    if (!usable(&v, arch)) return 0;
    *out = v;
    return 1;
}

intfa_status intfa_tune_state_put(intfa_tune_state *s, const intfa_tune_entry *e)
{
    if (!s->have_key) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "tune state: no device key");
    return intfa_tune_db_put(&s->db, &s->key, e);
}

int intfa_tune_state_failed(const intfa_tune_state *s, const intfa_tune_class *c)
{
    for (size_t i = 0; i < s->nfailed; i++)
        if (intfa_tune_class_equal(&s->failed[i], c)) return 1;
    return 0;
}

void intfa_tune_state_mark_failed(intfa_tune_state *s, const intfa_tune_class *c)
{
    if (s->nfailed < INTFA_TUNE_STATE_MAX_FAILED && !intfa_tune_state_failed(s, c)) s->failed[s->nfailed++] = *c;
}
