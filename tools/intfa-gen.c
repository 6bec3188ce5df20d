/* intfa-gen - list, print and NVRTC-compile the kernel variants intfa ships.
 *
 *   intfa-gen --list [--arch LIST]
 *   intfa-gen --emit-source NAME
 *   intfa-gen --compile [--arch LIST] [--jobs N] [--out DIR]
 *
 * Exit status: 0 done, 1 a variant failed (compile, write), 2 bad usage or bad name. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intfa.h"
#include "nvrtc_compile.h"

#define DEFAULT_ARCHS "sm_80,sm_86,sm_89,sm_90a"
#define MAX_JOBS 16

typedef enum { MODE_NONE, MODE_LIST, MODE_EMIT, MODE_COMPILE, MODE_HELP } gen_mode;

typedef struct gen_options {
    gen_mode mode;
    const char *arch_list; /* comma-separated */
    const char *emit_name;
    const char *out_dir;   /* NULL: write nothing */
    int jobs;              /* 0: the default */
} gen_options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: intfa-gen --list [--arch LIST]\n"
            "       intfa-gen --emit-source NAME\n"
            "       intfa-gen --compile [--arch LIST] [--jobs N] [--out DIR]\n"
            "\n"
            "  --list             print the default variant set's names, one per line\n"
            "  --emit-source NAME print the CUDA source rendered for variant NAME\n"
            "  --compile          NVRTC-compile every default variant of each arch and print\n"
            "                     a table: variant, arch, compile ms, cubin bytes\n"
            "  --arch LIST        comma-separated targets (default " DEFAULT_ARCHS ")\n"
            "  --jobs N           parallel compiles, 1..%d (default: online CPUs, at most %d)\n"
            "  --out DIR          write each cubin as DIR/<name>.cubin (DIR is created)\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 success, 1 a variant failed, 2 bad usage or unknown variant.\n",
            MAX_JOBS, MAX_JOBS);
}

/* ------------------------------------------------------------------ options */

/* The value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"); NULL if missing. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int option_is(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int set_mode(gen_options *o, gen_mode m, const char *arg)
{
    if (o->mode != MODE_NONE && o->mode != m) {
        fprintf(stderr, "intfa-gen: %s: only one of --list, --emit-source, --compile, --help\n",
                arg);
        return -1;
    }
    o->mode = m;
    return 0;
}

/* 0 on success; -1 after printing why (usage error). */
static int parse_options(int argc, char **argv, gen_options *o)
{
    memset(o, 0, sizeof *o);
    o->arch_list = DEFAULT_ARCHS;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            if (set_mode(o, MODE_HELP, arg))
                return -1;
        } else if (strcmp(arg, "--list") == 0) {
            if (set_mode(o, MODE_LIST, arg))
                return -1;
        } else if (strcmp(arg, "--compile") == 0) {
            if (set_mode(o, MODE_COMPILE, arg))
                return -1;
        } else if (option_is(arg, "--emit-source")) {
            if (set_mode(o, MODE_EMIT, arg))
                return -1;
            if (!(val = option_value(argc, argv, &i, "--emit-source")))
                goto missing;
            o->emit_name = val;
        } else if (option_is(arg, "--arch")) {
            if (!(val = option_value(argc, argv, &i, "--arch")))
                goto missing;
            o->arch_list = val;
        } else if (option_is(arg, "--out")) {
            if (!(val = option_value(argc, argv, &i, "--out")))
                goto missing;
            o->out_dir = val;
        } else if (option_is(arg, "--jobs")) {
            if (!(val = option_value(argc, argv, &i, "--jobs")))
                goto missing;
            char *end;
            long j = strtol(val, &end, 10);
            if (!*val || *end || j < 1 || j > MAX_JOBS) {
                fprintf(stderr, "intfa-gen: --jobs %s: expected an integer 1..%d\n", val,
                        MAX_JOBS);
                return -1;
            }
            o->jobs = (int)j;
        } else {
            fprintf(stderr, "intfa-gen: unknown option '%s'\n", arg);
            return -1;
        }
        continue;
    missing:
        fprintf(stderr, "intfa-gen: %s needs a value\n", arg);
        return -1;
    }
    if (o->mode == MODE_NONE) {
        fprintf(stderr, "intfa-gen: no action: give --list, --emit-source, --compile or --help\n");
        return -1;
    }
    if (o->mode != MODE_COMPILE && (o->jobs || o->out_dir)) {
        fprintf(stderr, "intfa-gen: --jobs and --out apply to --compile only\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ variant list */

typedef struct variant_list {
    intfa_variant *v;
    size_t n;
} variant_list;

/* The default sets of every arch in the comma-separated list, in list order. 0 or 2 (bad
 * arch, after a message) or 1 (library failure). */
static int collect_variants(const char *arch_list, variant_list *out)
{
    variant_list l = {NULL, 0};
    char *copy = strdup(arch_list);
    if (!copy) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        return 1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        intfa_arch arch;
        if (intfa_arch_parse(tok, &arch) != INTFA_OK) {
            fprintf(stderr, "intfa-gen: --arch %s: %s\n", tok, intfa_last_error());
            rc = 2;
            break;
        }
        intfa_variant probe;
        size_t count = 0;
        if (intfa_variant_default_set(arch, &probe, 0, &count) != INTFA_OK) {
            fprintf(stderr, "intfa-gen: default set for %s: %s\n", tok, intfa_last_error());
            rc = 1;
            break;
        }
        intfa_variant *grown = realloc(l.v, (l.n + count + 1) * sizeof *l.v);
        if (!grown) {
            fprintf(stderr, "intfa-gen: out of memory\n");
            rc = 1;
            break;
        }
        l.v = grown;
        size_t got = 0;
        if (intfa_variant_default_set(arch, l.v + l.n, count, &got) != INTFA_OK || got != count) {
            fprintf(stderr, "intfa-gen: default set for %s: %s\n", tok, intfa_last_error());
            rc = 1;
            break;
        }
        l.n += count;
    }
    free(copy);
    if (rc == 0 && l.n == 0) {
        fprintf(stderr, "intfa-gen: --arch '%s' names no arch\n", arch_list);
        rc = 2;
    }
    if (rc) {
        free(l.v);
        return rc;
    }
    *out = l;
    return 0;
}

static int cmd_list(const gen_options *o)
{
    variant_list l;
    int rc = collect_variants(o->arch_list, &l);
    if (rc)
        return rc;
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        char name[INTFA_VARIANT_NAME_MAX];
        if (intfa_variant_name(&l.v[i], name, sizeof name) != INTFA_OK) {
            fprintf(stderr, "intfa-gen: %s\n", intfa_last_error());
            rc = 1;
        } else {
            puts(name);
        }
    }
    free(l.v);
    return rc;
}

/* ------------------------------------------------------------------ emit */

static int cmd_emit(const gen_options *o)
{
    intfa_variant v;
    if (intfa_variant_parse(o->emit_name, &v) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: --emit-source %s: %s\n", o->emit_name, intfa_last_error());
        return 2;
    }
    char *source = NULL;
    if (intfa_variant_render(&v, &source) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: %s: %s\n", o->emit_name, intfa_last_error());
        return 1;
    }
    fputs(source, stdout);
    intfa_free(source);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ compile */

typedef struct compile_job {
    intfa_variant v;
    char name[INTFA_VARIANT_NAME_MAX];
    intfa_status status;
    char *message; /* malloc'd on failure */
    void *cubin;
    size_t size;
    double ms;
} compile_job;

typedef struct compile_pool {
    compile_job *jobs;
    size_t n;
    size_t next; /* next job to take */
    size_t done;
    pthread_mutex_t lock;
} compile_pool;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *compile_worker(void *arg)
{
    compile_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->lock);
        if (i == p->n)
            return NULL;

        compile_job *j = &p->jobs[i];
        j->status = intfa_variant_compile(&j->v, &j->cubin, &j->size, &j->ms);
        if (j->status != INTFA_OK)
            j->message = strdup(intfa_last_error()); /* the message is thread-local */

        pthread_mutex_lock(&p->lock);
        size_t done = ++p->done;
        if (j->status == INTFA_OK)
            fprintf(stderr, "[%zu/%zu] %s %.0f ms\n", done, p->n, j->name, j->ms);
        else
            fprintf(stderr, "[%zu/%zu] %s FAILED (%s)\n", done, p->n, j->name,
                    intfa_status_string(j->status));
        pthread_mutex_unlock(&p->lock);
    }
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > MAX_JOBS ? MAX_JOBS : (int)n;
}

/* Runs every job on up to `threads` threads (the calling thread waits). 0 or -1. */
static int run_pool(compile_pool *p, int threads)
{
    pthread_t tid[MAX_JOBS];
    int started = 0;
    if ((size_t)threads > p->n)
        threads = (int)p->n;
    for (; started < threads; started++)
        if (pthread_create(&tid[started], NULL, compile_worker, p) != 0)
            break;
    if (started == 0 && p->n > 0) {
        fprintf(stderr, "intfa-gen: cannot start a compile thread\n");
        return -1;
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return 0;
}

/* Writes dir/<name>.cubin; 0 or -1 after a message. */
static int write_cubin(const char *dir, const compile_job *j)
{
    size_t len = strlen(dir) + strlen(j->name) + 8;
    char *path = malloc(len);
    if (!path) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        return -1;
    }
    snprintf(path, len, "%s/%s.cubin", dir, j->name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(j->cubin, 1, j->size, f) == j->size;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "intfa-gen: write %s: %s\n", path, strerror(errno));
    free(path);
    return ok ? 0 : -1;
}

static const char *job_arch(const compile_job *j)
{
    const char *a = intfa_arch_name(j->v.arch);
    return a ? a : "?";
}

static int cmd_compile(const gen_options *o)
{
    variant_list l;
    int rc = collect_variants(o->arch_list, &l);
    if (rc)
        return rc;
    if (o->out_dir && mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "intfa-gen: --out %s: %s\n", o->out_dir, strerror(errno));
        free(l.v);
        return 1;
    }

    compile_pool p = {.jobs = calloc(l.n, sizeof(compile_job)), .n = l.n};
    if (!p.jobs) {
        fprintf(stderr, "intfa-gen: out of memory\n");
        free(l.v);
        return 1;
    }
    for (size_t i = 0; i < l.n; i++) {
        p.jobs[i].v = l.v[i];
        if (intfa_variant_name(&l.v[i], p.jobs[i].name, sizeof p.jobs[i].name) != INTFA_OK)
            snprintf(p.jobs[i].name, sizeof p.jobs[i].name, "(variant %zu)", i);
    }
    free(l.v);
    pthread_mutex_init(&p.lock, NULL);

    int threads = o->jobs ? o->jobs : default_jobs();
    int nv = intfa_nvrtc_version();
    fprintf(stderr, "compiling %zu variants on %d jobs with NVRTC %d.%d (%s)\n", p.n, threads,
            nv / 1000, nv % 1000 / 10, intfa_nvrtc_options_string());
    double t0 = now_ms();
    if (run_pool(&p, threads) != 0)
        rc = 1;
    double wall = now_ms() - t0;
    pthread_mutex_destroy(&p.lock);

    /* The table, in list order. */
    size_t failed = 0, written = 0;
    double sum_ms = 0;
    size_t sum_bytes = 0;
    printf("%-60s %-7s %9s %10s\n", "variant", "arch", "ms", "bytes");
    for (size_t i = 0; i < p.n; i++) {
        compile_job *j = &p.jobs[i];
        if (j->status != INTFA_OK) {
            printf("%-60s %-7s %9s %10s\n", j->name, job_arch(j), "FAILED", "-");
            failed++;
            continue;
        }
        printf("%-60s %-7s %9.0f %10zu\n", j->name, job_arch(j), j->ms, j->size);
        sum_ms += j->ms;
        sum_bytes += j->size;
        if (o->out_dir) {
            if (write_cubin(o->out_dir, j) == 0)
                written++;
            else
                rc = 1;
        }
    }
    printf("total: %zu variants, %zu failed, %.0f ms compile time, %.0f ms wall on %d jobs, "
           "%zu cubin bytes",
           p.n, failed, sum_ms, wall, threads, sum_bytes);
    if (o->out_dir)
        printf(", %zu written to %s", written, o->out_dir);
    printf("\n");
    fflush(stdout);

    for (size_t i = 0; i < p.n; i++) {
        compile_job *j = &p.jobs[i];
        if (j->status != INTFA_OK)
            fprintf(stderr, "\nintfa-gen: %s: %s: %s\n", j->name, intfa_status_string(j->status),
                    j->message ? j->message : "(no message)");
        free(j->message);
        intfa_free(j->cubin);
    }
    free(p.jobs);
    return failed || rc ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    gen_options o;
    if (parse_options(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    switch (o.mode) {
    case MODE_HELP: usage(stdout); return 0;
    case MODE_LIST: return cmd_list(&o);
    case MODE_EMIT: return cmd_emit(&o);
    case MODE_COMPILE: return cmd_compile(&o);
    case MODE_NONE: break;
    }
    return 2;
}
