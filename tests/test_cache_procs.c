/* test_cache_procs.c - the kernel cache across processes: 8 processes compiling the same
 * variants into one empty directory all succeed with byte-identical cubins and leave no
 * temporary file; a writer killed halfway through publishing leaves no entry (only a
 * temporary file, ignored and later removed as stale); writers killed at random moments
 * while a reader reads never expose a partial entry. No GPU; real NVRTC compiles. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_fixture.h"
#include "error.h"
#include "hash.h"
#include "jit_log.h"

#define N_PROCS 8
#define WAIT_LIMIT_MS 120000

static const char *const qk_set[] = {
    "quant_qk-sm80-d64-int8-fp16-w4", "quant_qk-sm80-d64-int8-bf16-w4",
    "quant_qk-sm80-d128-int8-fp16-w4", "quant_qk-sm80-d128-int8-bf16-w4"};
#define N_SET (sizeof qk_set / sizeof qk_set[0])

static int setup(void **state)
{
    *state = fixture_mkdtemp("procs");
    intfa_cache_memory_clear();
    intfa_cache_stats_reset();
    return 0;
}

static int teardown(void **state)
{
    fixture_rmtree(*state);
    free(*state);
    return 0;
}

/* Waits for pid; kills it and fails the test if it runs past WAIT_LIMIT_MS (so no test can
 * hang). Returns the wait status. */
static int wait_bounded(pid_t pid)
{
    for (int waited = 0; waited < WAIT_LIMIT_MS; waited += 10) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            fail_msg("waitpid %d: %s", (int)pid, strerror(errno));
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("process %d still ran after %d ms", (int)pid, WAIT_LIMIT_MS);
    return -1;
}

/* ------------------------------------------------------------------ concurrent compiles */

/* What a child reports per variant: the cubin's SHA-256 and where it came from. */
typedef struct child_result {
    unsigned char digest[INTFA_SHA256_BYTES];
    unsigned char from;
    unsigned char corrupt_seen; /* entries this child rejected so far (must stay 0) */
} child_result;

/* A child: waits for the start signal (its end of start_fd closing), gets every variant of
 * the set, writes one child_result each to out_fd. Exits 0, or 1 with a message. */
static void compile_child(const char *dir, int start_fd, int out_fd)
{
    char c;
    while (read(start_fd, &c, 1) < 0 && errno == EINTR)
        ;
    intfa_cache_config cfg = {.dir = dir};
    for (size_t i = 0; i < N_SET; i++) {
        intfa_variant v = fixture_variant(qk_set[i]);
        void *bin = NULL;
        size_t size = 0;
        intfa_binary_source from = INTFA_BINARY_NONE;
        if (intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, &from) != INTFA_OK) {
            fprintf(stderr, "child %d: %s: %s\n", (int)getpid(), qk_set[i], intfa_last_error());
            _exit(1);
        }
        child_result r;
        intfa_sha256_buffer(bin, size, r.digest);
        r.from = (unsigned char)from;
        intfa_cache_stats stats;
        intfa_cache_stats_get(&stats);
        r.corrupt_seen = (unsigned char)(stats.corrupt > 255 ? 255 : stats.corrupt);
        free(bin);
        if (write(out_fd, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
    }
    _exit(0);
}

static void test_concurrent_processes_get_identical_cubins(void **state)
{
    const char *dir = *state;
    int start[2];
    assert_int_equal(pipe(start), 0);
    int out[N_PROCS][2];
    pid_t pids[N_PROCS];
    for (int p = 0; p < N_PROCS; p++) {
        assert_int_equal(pipe(out[p]), 0);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(start[1]);
            close(out[p][0]);
            compile_child(dir, start[0], out[p][1]);
        }
        close(out[p][1]);
    }
    close(start[0]);
    close(start[1]); /* go: every child's read returns */

    int compiled[N_SET] = {0};
    child_result first[N_SET];
    for (int p = 0; p < N_PROCS; p++) {
        int status = wait_bounded(pids[p]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("child %d failed (status 0x%x)", p, status);
        for (size_t i = 0; i < N_SET; i++) {
            child_result r;
            assert_int_equal(read(out[p][0], &r, sizeof r), (ssize_t)sizeof r);
            assert_true(r.from == INTFA_BINARY_NVRTC || r.from == INTFA_BINARY_DISK);
            if (r.corrupt_seen)
                fail_msg("child %d saw %d corrupt entries (a partial publish?)", p,
                         r.corrupt_seen);
            compiled[i] += r.from == INTFA_BINARY_NVRTC;
            if (p == 0)
                first[i] = r;
            else if (memcmp(r.digest, first[i].digest, sizeof r.digest) != 0)
                fail_msg("child %d got another cubin for %s than child 0", p, qk_set[i]);
        }
        close(out[p][0]);
    }
    for (size_t i = 0; i < N_SET; i++) {
        print_message("%s: compiled by %d of %d processes\n", qk_set[i], compiled[i], N_PROCS);
        assert_true(compiled[i] >= 1);
    }

    /* The directory holds exactly the set, intact and the same bytes; no temporary file. */
    intfa_cache_usage u;
    assert_int_equal(intfa_cache_usage_of(dir, &u), INTFA_OK);
    assert_int_equal(u.entries, N_SET);
    assert_int_equal(u.temps, 0);
    assert_int_equal(fixture_count_files(dir, ""), N_SET);
    for (size_t i = 0; i < N_SET; i++) {
        intfa_cache_config cfg = {.dir = dir};
        intfa_variant v = fixture_variant(qk_set[i]);
        void *bin = NULL;
        size_t size = 0;
        intfa_binary_source from = INTFA_BINARY_NONE;
        assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 0, &bin, &size, &from), INTFA_OK);
        assert_int_equal(from, INTFA_BINARY_DISK);
        unsigned char d[INTFA_SHA256_BYTES];
        intfa_sha256_buffer(bin, size, d);
        assert_memory_equal(d, first[i].digest, sizeof d);
        free(bin);
    }
}

/* ------------------------------------------------------------------ killed writers */

static int hook_fd = -1;

/* Publish hook of the child: tell the parent the temporary file is half written, then wait
 * to be killed. */
static void stop_halfway(const char *temp, size_t written, size_t total)
{
    (void)temp;
    (void)total;
    char c = written > 0 ? 'h' : '0';
    if (write(hook_fd, &c, 1) != 1)
        _exit(2);
    for (;;)
        pause();
}

static void test_writer_killed_midway_leaves_no_entry(void **state)
{
    const char *dir = *state;
    const char *name = qk_set[0];
    int sig[2];
    assert_int_equal(pipe(sig), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sig[0]);
        hook_fd = sig[1];
        intfa_cache_set_publish_hook(stop_halfway);
        intfa_cache_config cfg = {.dir = dir};
        intfa_variant v = fixture_variant(name);
        void *bin = NULL;
        size_t size = 0;
        intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, NULL);
        _exit(3); /* not reached: the hook waits for the kill */
    }
    close(sig[1]);
    struct pollfd pfd = {.fd = sig[0], .events = POLLIN};
    int ready = poll(&pfd, 1, WAIT_LIMIT_MS);
    char c = 0;
    if (ready != 1 || read(sig[0], &c, 1) != 1 || c != 'h') {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the writer did not reach the middle of its publish");
    }
    close(sig[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = wait_bounded(pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* A half-written temporary file, no entry. */
    intfa_cache_usage u;
    assert_int_equal(intfa_cache_usage_of(dir, &u), INTFA_OK);
    assert_int_equal(u.entries, 0);
    assert_int_equal(u.temps, 1);
    char *temp = fixture_find_file(dir, INTFA_CACHE_TEMP_PREFIX);
    assert_non_null(temp);

    /* Readers see no entry (a miss, refused without JIT), then build and publish one. */
    intfa_cache_config cfg = {.dir = dir};
    intfa_variant v = fixture_variant(name);
    void *bin = NULL, *again = NULL;
    size_t size = 0, again_size = 0;
    intfa_binary_source from = INTFA_BINARY_NONE;
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 0, &bin, &size, &from),
                     INTFA_ERR_JIT_DISABLED);
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 1, &bin, &size, &from), INTFA_OK);
    assert_int_equal(from, INTFA_BINARY_NVRTC);
    assert_int_equal(intfa_cache_get_or_build(&cfg, &v, 0, &again, &again_size, &from),
                     INTFA_OK);
    assert_int_equal(from, INTFA_BINARY_DISK);
    assert_int_equal(size, again_size);
    assert_memory_equal(bin, again, size);
    struct stat sb;
    assert_int_equal(stat(temp, &sb), 0); /* a fresh temporary may be a live writer's: kept */
    assert_true((size_t)sb.st_size < INTFA_CACHE_HEADER_BYTES + size);

    /* Once stale, the next trim removes it. */
    fixture_set_age(temp, INTFA_CACHE_STALE_TEMP_SECONDS + 10);
    intfa_cache_trim_result r;
    assert_int_equal(intfa_cache_trim(dir, INTFA_CACHE_DEFAULT_MAX_BYTES, NULL, &r), INTFA_OK);
    assert_int_equal(r.stale_temps, 1);
    assert_int_equal(r.after.temps, 0);
    assert_int_equal(r.after.entries, 1);
    assert_int_equal(access(temp, F_OK), -1);
    free(temp);
    free(bin);
    free(again);
}

/* A writer that publishes the same key over and over with changing contents, until killed. */
static void publish_forever(const char *dir, const intfa_cache_entry_info *info)
{
    static unsigned char payload[64 * 1024];
    for (unsigned round = 0;; round++) {
        memset(payload, (int)(round & 0xff), sizeof payload);
        if (intfa_cache_dir_publish(dir, info, payload, sizeof payload) != INTFA_OK)
            _exit(1);
    }
}

/* Writers killed at random moments while this process reads: every read finds no entry or a
 * complete one (one byte value throughout); never a corrupt one. */
static void test_random_kills_never_expose_partial_entries(void **state)
{
    const char *dir = *state;
    intfa_cache_key_inputs in = {.variant_name = "synthetic", .source = "s", .nvrtc_version = 1,
                                 .options = "-o", .target = "sm_80", .template_hash = 1,
                                 .library_version = "test"};
    intfa_cache_key key;
    intfa_cache_entry_info info;
    assert_int_equal(intfa_cache_key_compute(&in, &key), INTFA_OK);
    assert_int_equal(intfa_cache_entry_info_of(&in, &key, &info), INTFA_OK);

    unsigned seed = 42;
    int reads = 0, hits = 0;
    for (int round = 0; round < 30; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            publish_forever(dir, &info);
        seed = seed * 1103515245u + 12345u;
        double stop_at = intfa_jit_now_ms();
        stop_at += 2 + (seed >> 16) % 20;
        while (intfa_jit_now_ms() < stop_at) {
            void *p = NULL;
            size_t n = 0;
            int found = 0;
            intfa_status st = intfa_cache_dir_read(dir, &info, &p, &n, &found);
            if (st != INTFA_OK)
                fail_msg("round %d: a reader saw %s: %s", round, intfa_status_string(st),
                         intfa_last_error());
            reads++;
            if (found) {
                hits++;
                const unsigned char *b = p;
                assert_int_equal(n, 64 * 1024);
                for (size_t i = 1; i < n; i++)
                    if (b[i] != b[0])
                        fail_msg("round %d: mixed contents at byte %zu", round, i);
                free(p);
            }
        }
        kill(pid, SIGKILL);
        wait_bounded(pid);
    }
    assert_true(hits > 0);
    assert_true(reads >= hits);

    /* Whatever temporaries the kills left are ignored by readers and removed once stale. */
    intfa_cache_usage u;
    assert_int_equal(intfa_cache_usage_of(dir, &u), INTFA_OK);
    assert_true(u.entries <= 1);
    print_message("%d reads, %d hits, %llu temporaries left by kills\n", reads, hits,
                  (unsigned long long)u.temps);
    char *temp;
    while ((temp = fixture_find_file(dir, INTFA_CACHE_TEMP_PREFIX)) != NULL) {
        fixture_set_age(temp, INTFA_CACHE_STALE_TEMP_SECONDS + 10);
        free(temp);
        intfa_cache_trim_result r;
        assert_int_equal(intfa_cache_trim(dir, INTFA_CACHE_DEFAULT_MAX_BYTES, NULL, &r), INTFA_OK);
        assert_true(r.stale_temps >= 1);
    }
    assert_int_equal(intfa_cache_usage_of(dir, &u), INTFA_OK);
    assert_int_equal(u.temps, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_concurrent_processes_get_identical_cubins),
        T(test_writer_killed_midway_leaves_no_entry),
        T(test_random_kills_never_expose_partial_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
