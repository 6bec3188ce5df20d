/* intfa-tune - tune the attention kernels for this GPU and manage the tuning database.
 *
 *   intfa-tune [--db PATH] [--device N] [--jobs N] [--reps R] [--head-dims LIST] [--verbose]
 *   intfa-tune --list [--db PATH] [--device N]
 *   intfa-tune --export FILE [--this-gpu] [--db PATH] [--device N]
 *   intfa-tune --import FILE [--db PATH]
 *   intfa-tune --clear [--this-gpu] [--db PATH] [--device N]
 *
 * Without an action it tunes the default problem set (head_dim 64/128, or --head-dims, x
 * causal/full x fp16 x pu8 x the three seq_kv buckets) on the GPU, printing each class's winner, and merges the
 * winners into the database. Exit status: 0 done, 1 a failure (no GPU, a class without a
 * winner, a malformed or unwritable database), 2 bad usage. docs/TUNING.md has the details. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "render.h"
#include "../tuning/tune_db_file.h"
#include "../tuning/tune_device_key.h"
#include "../tuning/tune_gpu.h"
#include "../runtime/parallel.h"
#include "../tuning/tune_space.h"

#define MAX_DIMS 15 /* head dims 32 .. 256 in steps of 16 */
#define MAX_CLASSES (6 * MAX_DIMS)

typedef enum { ACT_TUNE, ACT_LIST, ACT_EXPORT, ACT_IMPORT, ACT_CLEAR } tune_action;

typedef struct tune_opts {
    tune_action action;
    const char *file;  /* --export / --import */
    char *db;          /* resolved database path (malloc'd) */
    int device, jobs, reps, verbose, this_gpu;
    int dims[MAX_DIMS]; /* --head-dims (ndims 0: 64 and 128) */
    size_t ndims;
} tune_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: intfa-tune [--db PATH] [--device N] [--jobs N] [--reps R] [--head-dims LIST] [--verbose]\n"
            "       intfa-tune --list [--db PATH] [--device N]\n"
            "       intfa-tune --export FILE [--this-gpu] [--db PATH] [--device N]\n"
            "       intfa-tune --import FILE [--db PATH]\n"
            "       intfa-tune --clear [--this-gpu] [--db PATH] [--device N]\n"
            "\n"
            "  (no action)     tune the default problem set on the GPU and merge the winners into\n"
            "                  the database (progress on stderr, total time at the end)\n"
            "  --list          print every section of the database, marking this GPU's\n"
            "  --export FILE   write the database (or with --this-gpu its section for this GPU)\n"
            "  --import FILE   merge FILE's sections in, replacing sections with the same key\n"
            "  --clear         empty the database (with --this-gpu: remove this GPU's section)\n"
            "  --db PATH       the database (default: $INTFA_TUNING_DB, else <cache dir>/tuning.db,\n"
            "                  cache dir $INTFA_CACHE_DIR, $XDG_CACHE_HOME/intfa or ~/.cache/intfa)\n"
            "  --device N      CUDA device ordinal (default 0)\n"
            "  --jobs N        parallel compiles, 1..%d (default: min(8, online CPUs))\n"
            "  --reps R        timed launches per candidate, 1..%d (default 10)\n"
            "  --head-dims L   tune these head dims (comma-separated multiples of 16 from 32 to\n"
            "                  256; default 64,128)\n"
            "  --verbose       report every failed candidate and each JIT compile\n",
            INTFA_MAX_JOBS, INTFA_TUNE_MAX_REPS);
}

static int parse_int_arg(const char *opt, const char *val, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(val, &end, 10);
    if (!*val || *end || v < lo || v > hi) {
        fprintf(stderr, "intfa-tune: %s %s: expected an integer %d..%d\n", opt, val, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* --head-dims: 0, or -1 after a message. */
static int parse_dims(const char *list, tune_opts *o)
{
    const char *p = list;
    o->ndims = 0;
    for (;;) {
        char *end;
        const long d = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || !intfa_head_dim_ok(d) || o->ndims == MAX_DIMS) {
            fprintf(stderr, "intfa-tune: --head-dims %s: expected distinct multiples of 16 from 32 to 256, "
                            "comma-separated\n", list);
            return -1;
        }
        for (size_t i = 0; i < o->ndims; i++)
            if (o->dims[i] == (int)d) {
                fprintf(stderr, "intfa-tune: --head-dims %s: %ld twice\n", list, d);
                return -1;
            }
        o->dims[o->ndims++] = (int)d;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int set_action(tune_opts *o, tune_action a, const char *file)
{
    if (o->action != ACT_TUNE) {
        fprintf(stderr, "intfa-tune: only one of --list, --export, --import, --clear\n");
        return -1;
    }
    o->action = a;
    o->file = file;
    return 0;
}

/* 0, or 2 after a message (usage error), or 1 (no database path). */
static int parse_args(int argc, char **argv, tune_opts *o)
{
    static const struct option longs[] = {
        {"db", required_argument, NULL, 'd'},     {"device", required_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},   {"reps", required_argument, NULL, 'r'},
        {"verbose", no_argument, NULL, 'v'},      {"list", no_argument, NULL, 'l'},
        {"export", required_argument, NULL, 'e'}, {"import", required_argument, NULL, 'i'},
        {"clear", no_argument, NULL, 'c'},        {"this-gpu", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {"head-dims", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    const char *db = NULL;
    int c, bad = 0;
    opterr = 0;
    while (!bad && (c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'D': bad = parse_int_arg("--device", optarg, 0, 1023, &o->device); break;
        case 'j': bad = parse_int_arg("--jobs", optarg, 1, INTFA_MAX_JOBS, &o->jobs); break;
        case 'r': bad = parse_int_arg("--reps", optarg, 1, INTFA_TUNE_MAX_REPS, &o->reps); break;
        case 'v': o->verbose = 1; break;
        case 'H': bad = parse_dims(optarg, o); break;
        case 't': o->this_gpu = 1; break;
        case 'l': bad = set_action(o, ACT_LIST, NULL); break;
        case 'e': bad = set_action(o, ACT_EXPORT, optarg); break;
        case 'i': bad = set_action(o, ACT_IMPORT, optarg); break;
        case 'c': bad = set_action(o, ACT_CLEAR, NULL); break;
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "intfa-tune: %s: unknown option or missing value (see --help)\n", argv[optind - 1]);
            bad = 1;
        }
    }
    if (!bad && optind < argc) {
        fprintf(stderr, "intfa-tune: unexpected argument '%s'\n", argv[optind]);
        bad = 1;
    }
    if (!bad && o->this_gpu && o->action != ACT_EXPORT && o->action != ACT_CLEAR) {
        fprintf(stderr, "intfa-tune: --this-gpu goes with --export or --clear\n");
        bad = 1;
    }
    if (!bad && (o->jobs || o->reps || o->ndims) && o->action != ACT_TUNE) {
        fprintf(stderr, "intfa-tune: --jobs, --reps and --head-dims apply to tuning only\n");
        bad = 1;
    }
    if (bad) return 2;
    if (intfa_tune_db_path(db, NULL, &o->db) != INTFA_OK) {
        fprintf(stderr, "intfa-tune: %s (give --db PATH)\n", intfa_last_error());
        return 1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A context on the device and its key; prints why not (quiet: as a note) and returns NULL. */
static intfa_context *open_device(const tune_opts *o, intfa_tune_key *key, int quiet)
{
    intfa_context *ctx = NULL;
    const intfa_options opts = {INTFA_TUNE_NEVER, 0, o->verbose, NULL, NULL};
    intfa_status st = intfa_create_with_options(&ctx, o->device, &opts);
    if (st == INTFA_OK && (st = intfa_tune_device_key(ctx, key)) != INTFA_OK) {
        intfa_destroy(ctx);
        ctx = NULL;
    }
    if (!ctx && quiet)
        printf("note: no GPU %d (%s: %s); no section is marked\n", o->device, intfa_status_string(st),
               intfa_last_error());
    else if (!ctx)
        fprintf(stderr, "intfa-tune: no GPU %d: %s: %s\n", o->device, intfa_status_string(st), intfa_last_error());
    return ctx;
}

static int load_db(const char *path, intfa_tune_db *db, int *exists)
{
    if (intfa_tune_db_load(path, db, exists) == INTFA_OK) return 0;
    fprintf(stderr, "intfa-tune: %s\n(fix or remove the file; intfa-tune --clear --db %s empties it)\n",
            intfa_last_error(), path);
    return -1;
}

static int save_db(const char *path, const intfa_tune_db *db)
{
    if (intfa_tune_db_save(path, db) == INTFA_OK) return 0;
    fprintf(stderr, "intfa-tune: %s\n", intfa_last_error());
    return -1;
}

/* ------------------------------------------------------------------ tuning */

typedef struct progress {
    int tty;
    double t0;
} progress;

static void on_compile(void *user, size_t done, size_t total)
{
    const progress *p = user;
    if (p->tty) fprintf(stderr, "\rcompiling candidates [%zu/%zu] %.1f s", done, total, now_s() - p->t0);
    if (p->tty && done == total) fputc('\n', stderr);
}

/* The tile part of a variant name ("m128n64w8s2"). */
static const char *tile_of(const intfa_variant *v, char *buf, size_t cap)
{
    char name[INTFA_VARIANT_NAME_MAX];
    if (intfa_variant_name(v, name, sizeof name) != INTFA_OK) return "?";
    const char *dash = strrchr(name, '-');
    snprintf(buf, cap, "%s", dash ? dash + 1 : name);
    return buf;
}

static void on_class(void *user, size_t k, size_t n, const intfa_tune_result *r)
{
    (void)user;
    char cls[INTFA_TUNE_CLASS_TEXT_MAX], tile[INTFA_VARIANT_NAME_MAX];
    intfa_tune_class_format(&r->cls, cls, sizeof cls);
    if (r->status != INTFA_OK) {
        printf("[%zu/%zu] %-34s FAILED: %s\n", k, n, cls, r->message);
    } else {
        printf("[%zu/%zu] %-34s -> %-12s %9.4f ms", k, n, cls, tile_of(&r->entry.winner, tile, sizeof tile),
               r->entry.ms);
        if (isfinite(r->default_ms))
            printf("  (default %.4f ms, %.2fx)", r->default_ms, r->default_ms / r->entry.ms);
        printf("  %zu candidates, %zu failed, %zu rejected\n", r->candidates, r->failed, r->rejected);
    }
    fflush(stdout);
}

static int do_tune(const tune_opts *o)
{
    const double t0 = now_s();
    intfa_tune_key key;
    intfa_context *ctx = open_device(o, &key, 0);
    if (!ctx) return 1;
    intfa_tune_db db;
    int rc = load_db(o->db, &db, NULL);
    if (rc) {
        intfa_destroy(ctx);
        return 1;
    }
    const size_t others = db.count - (intfa_tune_db_find(&db, &key) != NULL);
    if (others)
        printf("note: %s holds %zu section(s) for other devices or versions: kept, not used here\n",
               o->db, others);
    intfa_tune_db_free(&db);
    intfa_tune_class classes[MAX_CLASSES];
    size_t n = 0, ncand = 0, pruned = 0;
    intfa_variant cand[INTFA_TUNE_MAX_CANDIDATES];
    if (o->ndims) intfa_tune_classes_for(o->dims, o->ndims, classes, MAX_CLASSES, &n);
    else intfa_tune_default_classes(classes, MAX_CLASSES, &n);
    intfa_tune_candidates(&classes[0], ctx->arch, cand, INTFA_TUNE_MAX_CANDIDATES, &ncand, &pruned);
    char desc[512];
    intfa_tune_key_describe(&key, desc, sizeof desc);
    printf("intfa-tune: %s (%s)\n%zu classes, up to %zu candidates each (%zu pruned for the first), "
           "database %s\n", desc, intfa_arch_name(ctx->arch), n, ncand, pruned, o->db);
    fflush(stdout);

    intfa_tune_gpu *g = NULL;
    const intfa_tune_gpu_config cfg = {0, o->reps};
    intfa_tune_result results[MAX_CLASSES];
    intfa_tune_stats stats = {0};
    progress prog = {isatty(fileno(stderr)), now_s()};
    intfa_status st = intfa_tune_gpu_create(ctx, &cfg, &g);
    if (st == INTFA_OK) {
        intfa_tune_backend b;
        intfa_tune_gpu_backend(g, &b);
        const intfa_tune_options opts = {o->jobs, 0, o->verbose ? stderr : NULL, on_compile, on_class, &prog};
        st = intfa_tune_run(&b, ctx->arch, classes, n, &opts, results, &stats);
        intfa_tune_gpu_destroy(g);
    } else {
        fprintf(stderr, "intfa-tune: %s\n", intfa_last_error());
        intfa_destroy(ctx);
        return 1;
    }
    printf("compiled %zu variants in %.1f s (%d threads, %zu failed); timed and verified in %.1f s\n",
           stats.compiles, stats.compile_s, stats.jobs, stats.compile_failures, stats.measure_s);
    intfa_tune_entry entries[MAX_CLASSES];
    size_t good = 0;
    for (size_t i = 0; i < n; i++)
        if (results[i].status == INTFA_OK) entries[good++] = results[i].entry;
    rc = st == INTFA_OK ? 0 : 1;
    if (good && intfa_tune_db_update(o->db, &key, entries, good) != INTFA_OK) {
        fprintf(stderr, "intfa-tune: %s\n", intfa_last_error());
        rc = 1;
    } else if (good) {
        printf("wrote %zu of %zu classes to %s\n", good, n, o->db);
    }
    intfa_destroy(ctx);
    printf("total time: %.1f s%s\n", now_s() - t0, rc ? " (with failures, see above)" : "");
    return rc;
}

/* ------------------------------------------------------------------ list, export, import, clear */

static void print_section(const intfa_tune_section *s, int mine)
{
    char desc[512];
    intfa_tune_key_describe(&s->key, desc, sizeof desc);
    printf("[device] %s%s\n", desc, mine ? "   <- this GPU" : "");
    for (size_t i = 0; i < s->count; i++) {
        const intfa_tune_entry *e = &s->entries[i];
        char cls[INTFA_TUNE_CLASS_TEXT_MAX], name[INTFA_VARIANT_NAME_MAX], tile[INTFA_VARIANT_NAME_MAX];
        intfa_tune_class_format(&e->cls, cls, sizeof cls);
        intfa_variant_name(&e->winner, name, sizeof name);
        printf("  %-34s %s %.4f ms", cls, name, e->ms);
        if (e->has_runner_up)
            printf("  (runner-up %s %.4f ms)", tile_of(&e->runner_up, tile, sizeof tile), e->runner_ms);
        putchar('\n');
    }
    if (s->count == 0) printf("  (no entries)\n");
}

static int do_list(const tune_opts *o)
{
    intfa_tune_db db;
    int exists = 0;
    if (load_db(o->db, &db, &exists)) return 1;
    if (!exists) {
        printf("%s: no tuning database yet\n", o->db);
        return 0;
    }
    intfa_tune_key key;
    intfa_context *ctx = open_device(o, &key, 1);
    printf("%s: %zu section(s)\n", o->db, db.count);
    for (size_t i = 0; i < db.count; i++)
        print_section(&db.sections[i], ctx && intfa_tune_key_equal(&db.sections[i].key, &key));
    if (ctx && !intfa_tune_db_find(&db, &key)) printf("(nothing for this GPU yet: run intfa-tune)\n");
    intfa_destroy(ctx);
    intfa_tune_db_free(&db);
    return 0;
}

static int do_export(const tune_opts *o)
{
    intfa_tune_db db, out;
    intfa_tune_db_init(&out);
    if (load_db(o->db, &db, NULL)) return 1;
    int rc = 0;
    const intfa_tune_db *what = &db;
    if (o->this_gpu) {
        intfa_tune_key key;
        intfa_context *ctx = open_device(o, &key, 0);
        const intfa_tune_section *s = ctx ? intfa_tune_db_find(&db, &key) : NULL;
        if (ctx && !s) fprintf(stderr, "intfa-tune: %s holds nothing for this GPU\n", o->db);
        rc = !s || intfa_tune_db_put_section(&out, s, NULL) != INTFA_OK;
        what = &out;
        intfa_destroy(ctx);
    }
    if (!rc) rc = save_db(o->file, what) ? 1 : 0;
    if (!rc) printf("exported %zu section(s) to %s\n", what->count, o->file);
    intfa_tune_db_free(&db);
    intfa_tune_db_free(&out);
    return rc;
}

static int do_import(const tune_opts *o)
{
    intfa_tune_db in, db;
    int exists = 0;
    if (load_db(o->file, &in, &exists)) return 1;
    if (!exists) {
        fprintf(stderr, "intfa-tune: --import %s: no such file\n", o->file);
        return 1;
    }
    if (load_db(o->db, &db, NULL)) {
        intfa_tune_db_free(&in);
        return 1;
    }
    int rc = 0;
    size_t replaced = 0;
    for (size_t i = 0; i < in.count && !rc; i++) {
        int r = 0;
        if (intfa_tune_db_put_section(&db, &in.sections[i], &r) != INTFA_OK) {
            fprintf(stderr, "intfa-tune: %s\n", intfa_last_error());
            rc = 1;
        }
        replaced += (size_t)r;
    }
    if (!rc) rc = save_db(o->db, &db) ? 1 : 0;
    if (!rc) printf("imported %zu section(s) from %s into %s (%zu replaced)\n", in.count, o->file, o->db, replaced);
    intfa_tune_db_free(&in);
    intfa_tune_db_free(&db);
    return rc;
}

static int do_clear(const tune_opts *o)
{
    intfa_tune_db db;
    intfa_tune_db_init(&db);
    if (!o->this_gpu) {
        if (save_db(o->db, &db)) return 1;
        printf("emptied %s\n", o->db);
        return 0;
    }
    intfa_tune_key key;
    intfa_context *ctx = open_device(o, &key, 0);
    if (!ctx) return 1;
    intfa_destroy(ctx);
    if (load_db(o->db, &db, NULL)) return 1;
    int removed = 0;
    intfa_tune_db_remove(&db, &key, &removed);
    int rc = removed && save_db(o->db, &db) ? 1 : 0;
    if (!rc) printf(removed ? "removed this GPU's section from %s\n" : "%s holds nothing for this GPU\n", o->db);
    intfa_tune_db_free(&db);
    return rc;
}

int main(int argc, char **argv)
{
    tune_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        if (rc == 2) usage(stderr);
        return rc;
    }
    switch (o.action) {
    case ACT_LIST: rc = do_list(&o); break;
    case ACT_EXPORT: rc = do_export(&o); break;
    case ACT_IMPORT: rc = do_import(&o); break;
    case ACT_CLEAR: rc = do_clear(&o); break;
    default: rc = do_tune(&o); break;
    }
    free(o.db);
    return rc;
}
