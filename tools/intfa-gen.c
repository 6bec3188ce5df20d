/* intfa-gen - list, print and NVRTC-compile the kernel variants intfa ships, and emit or
 * check a precompiled kernel table (docs/AOT.md).
 *
 *   intfa-gen --list [SELECTION]
 *   intfa-gen --emit-source NAME
 *   intfa-gen --compile [SELECTION] [--jobs N] [--out DIR] [--cache]
 *   intfa-gen --emit-aot DIR [SELECTION] [--jobs N]
 *   intfa-gen --verify FILE_OR_DIR [--recompile] [--jobs N]
 *
 * The parts are in tools/gen/ (gen.h). Exit status: 0 done, 1 a variant failed (compile,
 * write) or a table entry is stale, 2 bad usage, bad name or bad selection. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "render.h"

typedef enum {
    MODE_NONE,
    MODE_LIST,
    MODE_EMIT,
    MODE_COMPILE,
    MODE_EMIT_AOT,
    MODE_VERIFY,
    MODE_HELP
} gen_mode;

typedef struct gen_options {
    gen_mode mode;
    const char *mode_arg; /* NAME of --emit-source, DIR of --emit-aot, FILE_OR_DIR of --verify */
    gen_selection sel;
    int any_selection;    /* a selection option was given */
    const char *out_dir;  /* --compile: NULL writes nothing */
    int jobs;             /* 0: the default */
    int recompile;        /* --verify --recompile */
    int through_cache;    /* --compile --cache */
} gen_options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: intfa-gen --list [SELECTION]\n"
            "       intfa-gen --emit-source NAME\n"
            "       intfa-gen --compile [SELECTION] [--jobs N] [--out DIR] [--cache]\n"
            "       intfa-gen --emit-aot DIR [SELECTION] [--jobs N]\n"
            "       intfa-gen --verify FILE_OR_DIR [--recompile] [--jobs N]\n"
            "\n"
            "  --list              print the selected variants' names, one per line\n"
            "  --emit-source NAME  print the CUDA source rendered for variant NAME\n"
            "  --compile           NVRTC-compile the selection and print a table: variant,\n"
            "                      arch, compile ms, cubin bytes\n"
            "  --emit-aot DIR      compile the selection into a precompiled kernel table:\n"
            "                      DIR/cubins/<name>.cubin, DIR/intfa_aot_table.c and .h\n"
            "                      (byte-identical for the same inputs)\n"
            "  --verify PATH       check a table (its .c file or its DIR) against this\n"
            "                      generator; prints fresh/stale per entry, exit 1 if any stale\n"
            "  --recompile         --verify: also compile every entry again, compare bytes\n"
            "  --jobs N            parallel compiles, 1..%d (default: online CPUs, at most %d)\n"
            "  --out DIR           --compile: write each cubin as DIR/<name>.cubin\n"
            "  --cache             --compile: through the kernel cache ($INTFA_CACHE_DIR, else\n"
            "                      ~/.cache/intfa), so a later first call finds them (warm-up\n"
            "                      at deploy time; no GPU needed)\n"
            "  --help              this text\n"
            "\n"
            "SELECTION (lists are comma-separated; default: the default set of every target):\n"
            "  --arch LIST             targets (default " GEN_DEFAULT_ARCHS ")\n"
            "  --variants LIST         these variant names instead of the default set\n"
            "  --from-tuning-db FILE   a tuning database's winners (with their bf16 twins and\n"
            "                          the quantization kernels they need) instead\n"
            "  --default-set           the default set as well (with the two above)\n"
            "  --kinds LIST            attn_fwd, quant_qk, quant_v, attn_fp16\n"
            "  --head-dims LIST        multiples of 16 from 32 to 256; with the default\n"
            "                          set, a head dim outside it (64, 128) adds its\n"
            "                          default tiles (INT8 attention, quantization)\n"
            "  --formats LIST          int8, int4 (kinds with a Q/K format)\n"
            "  --causal LIST           0, 1 (attention kinds)\n"
            "  --dtypes LIST           fp16, bf16\n"
            "  --p-quant LIST          pu8, ps8 (attn_fwd)\n"
            "The filters narrow the base set; --arch applies to every base, and defaults to\n"
            "the four targets above only when the default set is in it.\n"
            "\n"
            "Exit status: 0 success, 1 a variant failed or a table entry is stale, 2 bad usage,\n"
            "unknown variant or empty selection.\n",
            GEN_MAX_JOBS, GEN_MAX_JOBS);
}

/* ------------------------------------------------------------------ options */

/* Options naming a mode with an argument, and the selection's options. */
static const struct {
    const char *opt;
    gen_mode mode;
} mode_options[] = {
    {"--emit-source", MODE_EMIT}, {"--emit-aot", MODE_EMIT_AOT}, {"--verify", MODE_VERIFY}};

static const struct {
    const char *opt;
    size_t offset; /* of the field in gen_selection */
} selection_options[] = {
    {"--arch", offsetof(gen_selection, archs)},
    {"--head-dims", offsetof(gen_selection, head_dims)},
    {"--formats", offsetof(gen_selection, formats)},
    {"--causal", offsetof(gen_selection, causal)},
    {"--dtypes", offsetof(gen_selection, dtypes)},
    {"--kinds", offsetof(gen_selection, kinds)},
    {"--p-quant", offsetof(gen_selection, p_quant)},
    {"--variants", offsetof(gen_selection, variants)},
    {"--from-tuning-db", offsetof(gen_selection, tuning_db)},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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
        fprintf(stderr, "intfa-gen: %s: only one of --list, --emit-source, --compile, "
                        "--emit-aot, --verify, --help\n", arg);
        return -1;
    }
    o->mode = m;
    return 0;
}

static int parse_jobs(const char *val, int *jobs)
{
    char *end;
    long j = strtol(val, &end, 10);
    if (!*val || *end || j < 1 || j > GEN_MAX_JOBS) {
        fprintf(stderr, "intfa-gen: --jobs %s: expected an integer 1..%d\n", val, GEN_MAX_JOBS);
        return -1;
    }
    *jobs = (int)j;
    return 0;
}

/* One option with a value at argv[*i]: 1 taken, 0 not such an option, -1 usage error. */
static int value_option(gen_options *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *opt = NULL, *val;
    for (size_t k = 0; k < COUNT(mode_options) && !opt; k++)
        if (option_is(arg, mode_options[k].opt)) {
            opt = mode_options[k].opt;
            if (set_mode(o, mode_options[k].mode, arg))
                return -1;
        }
    for (size_t k = 0; k < COUNT(selection_options) && !opt; k++)
        if (option_is(arg, selection_options[k].opt))
            opt = selection_options[k].opt;
    if (!opt && (option_is(arg, "--out") || option_is(arg, "--jobs")))
        opt = option_is(arg, "--out") ? "--out" : "--jobs";
    if (!opt)
        return 0;
    if (!(val = option_value(argc, argv, i, opt))) {
        fprintf(stderr, "intfa-gen: %s needs a value\n", arg);
        return -1;
    }
    if (strcmp(opt, "--out") == 0) {
        o->out_dir = val;
    } else if (strcmp(opt, "--jobs") == 0) {
        if (parse_jobs(val, &o->jobs))
            return -1;
    } else if (strcmp(opt, "--emit-source") == 0 || strcmp(opt, "--emit-aot") == 0 ||
               strcmp(opt, "--verify") == 0) {
        o->mode_arg = val;
    } else {
        for (size_t k = 0; k < COUNT(selection_options); k++)
            if (strcmp(opt, selection_options[k].opt) == 0)
                *(const char **)((char *)&o->sel + selection_options[k].offset) = val;
        o->any_selection = 1;
    }
    return 1;
}

/* Options that only some modes take. 0, or -1 after a message. */
static int check_combination(const gen_options *o)
{
    int selects = o->mode == MODE_LIST || o->mode == MODE_COMPILE || o->mode == MODE_EMIT_AOT;
    int jobs_ok = o->mode == MODE_COMPILE || o->mode == MODE_EMIT_AOT ||
                  (o->mode == MODE_VERIFY && o->recompile);
    const char *bad =
        o->any_selection && !selects ? "selection options apply to --list, --compile and "
                                       "--emit-aot only"
        : o->out_dir && o->mode != MODE_COMPILE ? "--out applies to --compile only"
        : o->jobs && !jobs_ok ? "--jobs applies to --compile, --emit-aot and --verify "
                                "--recompile only"
        : o->recompile && o->mode != MODE_VERIFY ? "--recompile applies to --verify only"
        : o->through_cache && o->mode != MODE_COMPILE ? "--cache applies to --compile only"
        : NULL;
    if (bad)
        fprintf(stderr, "intfa-gen: %s\n", bad);
    return bad ? -1 : 0;
}

/* 0 on success; -1 after printing why (usage error). */
static int parse_options(int argc, char **argv, gen_options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int taken = value_option(o, argc, argv, &i);
        if (taken < 0)
            return -1;
        if (taken)
            continue;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            if (set_mode(o, MODE_HELP, arg))
                return -1;
        } else if (strcmp(arg, "--list") == 0) {
            if (set_mode(o, MODE_LIST, arg))
                return -1;
        } else if (strcmp(arg, "--compile") == 0) {
            if (set_mode(o, MODE_COMPILE, arg))
                return -1;
        } else if (strcmp(arg, "--default-set") == 0) {
            o->sel.default_set = 1;
            o->any_selection = 1;
        } else if (strcmp(arg, "--recompile") == 0) {
            o->recompile = 1;
        } else if (strcmp(arg, "--cache") == 0) {
            o->through_cache = 1;
        } else {
            fprintf(stderr, "intfa-gen: unknown option '%s'\n", arg);
            return -1;
        }
    }
    if (o->mode == MODE_NONE) {
        fprintf(stderr, "intfa-gen: no action: give --list, --emit-source, --compile, "
                        "--emit-aot, --verify or --help\n");
        return -1;
    }
    return check_combination(o);
}

/* ------------------------------------------------------------------ commands */

static int cmd_list(const gen_options *o)
{
    gen_list l;
    int rc = gen_select(&o->sel, &l);
    if (rc)
        return rc;
    for (size_t i = 0; i < l.n; i++)
        puts(l.items[i].name);
    gen_list_free(&l);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_emit(const gen_options *o)
{
    intfa_variant v;
    if (intfa_variant_parse(o->mode_arg, &v) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: --emit-source %s: %s\n", o->mode_arg, intfa_last_error());
        return 2;
    }
    char *source = NULL;
    if (intfa_variant_render(&v, &source) != INTFA_OK) {
        fprintf(stderr, "intfa-gen: %s: %s\n", o->mode_arg, intfa_last_error());
        return 1;
    }
    fputs(source, stdout);
    intfa_free(source);
    return fflush(stdout) == 0 ? 0 : 1;
}

static const char *job_arch(const gen_job *j)
{
    const char *a = intfa_arch_name(j->v.arch);
    return a ? a : "?";
}

/* The table of a --compile, in selection order; the number of failed jobs. */
static size_t print_compile_table(const gen_options *o, const gen_job *jobs, size_t n,
                                  double wall, int threads, int *rc)
{
    size_t failed = 0, written = 0, sum_bytes = 0;
    double sum_ms = 0;
    printf("%-60s %-7s %9s %10s\n", "variant", "arch", "ms", "bytes");
    for (size_t i = 0; i < n; i++) {
        const gen_job *j = &jobs[i];
        if (j->status != INTFA_OK) {
            printf("%-60s %-7s %9s %10s\n", j->name, job_arch(j), "FAILED", "-");
            failed++;
            continue;
        }
        printf("%-60s %-7s %9.0f %10zu\n", j->name, job_arch(j), j->ms, j->size);
        sum_ms += j->ms;
        sum_bytes += j->size;
        if (o->out_dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.cubin", o->out_dir, j->name);
            if (gen_write_file(path, j->cubin, j->size) == 0)
                written++;
            else
                *rc = 1;
        }
    }
    printf("total: %zu variants, %zu failed, %.0f ms compile time, %.0f ms wall on %d jobs, "
           "%zu cubin bytes", n, failed, sum_ms, wall, threads, sum_bytes);
    if (o->out_dir)
        printf(", %zu written to %s", written, o->out_dir);
    printf("\n");
    fflush(stdout);
    return failed;
}

static int cmd_compile(const gen_options *o, int threads)
{
    gen_list l;
    int rc = gen_select(&o->sel, &l);
    if (rc)
        return rc;
    gen_job *jobs = NULL;
    if ((o->out_dir && gen_mkdir(o->out_dir)) || gen_jobs_of(&l, &jobs)) {
        gen_list_free(&l);
        return 1;
    }
    for (size_t i = 0; i < l.n; i++) jobs[i].through_cache = o->through_cache;
    gen_announce(l.n, threads);
    double t0 = gen_now_ms();
    rc = gen_compile_all(jobs, l.n, threads);
    size_t failed = print_compile_table(o, jobs, l.n, gen_now_ms() - t0, threads, &rc);
    for (size_t i = 0; i < l.n; i++)
        if (jobs[i].status != INTFA_OK)
            fprintf(stderr, "\nintfa-gen: %s: %s: %s\n", jobs[i].name,
                    intfa_status_string(jobs[i].status),
                    jobs[i].message ? jobs[i].message : "(no message)");
    gen_jobs_free(jobs, l.n);
    gen_list_free(&l);
    return failed || rc ? 1 : 0;
}

static int cmd_emit_aot(const gen_options *o, int threads)
{
    if (!intfa_kv_tma_env_default()) {
        fprintf(stderr, "intfa-gen: --emit-aot with INTFA_KV_TMA=%s: a table is built with the "
                "library's kernels (K/V by TMA); unset INTFA_KV_TMA\n", getenv("INTFA_KV_TMA"));
        return 2;
    }
    gen_list l;
    int rc = gen_select(&o->sel, &l);
    if (rc)
        return rc;
    rc = gen_emit_aot(o->mode_arg, &l, threads);
    gen_list_free(&l);
    return rc;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    gen_options o;
    if (parse_options(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    int threads = o.jobs ? o.jobs : gen_default_jobs();
    switch (o.mode) {
    case MODE_HELP: usage(stdout); return 0;
    case MODE_LIST: return cmd_list(&o);
    case MODE_EMIT: return cmd_emit(&o);
    case MODE_COMPILE: return cmd_compile(&o, threads);
    case MODE_EMIT_AOT: return cmd_emit_aot(&o, threads);
    case MODE_VERIFY: return gen_verify(o.mode_arg, o.recompile, threads);
    case MODE_NONE: break;
    }
    return 2;
}
