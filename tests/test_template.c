/* test_template.c - template expansion (${} and //% code), its errors and limits, loading
 * (embedded table, $INTFA_TEMPLATE_DIR), the template hash, and intfa_variant_render. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "intfa.h"
#include "render.h"
#include "template.h"

static char tmpdir[64];
static char fixtures[4096];

static void assert_error_equal(const char *want)
{
    if (strcmp(intfa_last_error(), want) != 0) {
        print_error("last error \"%s\"\n      wanted \"%s\"\n", intfa_last_error(), want);
        fail();
    }
}

static void assert_error_contains(const char *needle)
{
    if (!strstr(intfa_last_error(), needle)) {
        print_error("last error \"%s\" does not contain \"%s\"\n", intfa_last_error(), needle);
        fail();
    }
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static const intfa_tvar test_vars[] = {
    {"a", INTFA_TV_INT, NULL, 7},
    {"neg", INTFA_TV_INT, NULL, -12345678901LL},
    {"s", INTFA_TV_STRING, "fp16", 0},
    {"yes", INTFA_TV_BOOL, NULL, 1},
    {"no", INTFA_TV_BOOL, NULL, 0},
    {"head_dim", INTFA_TV_INT, NULL, 96},
};
#define NVARS (sizeof test_vars / sizeof test_vars[0])

/* Expands text and asserts the exact output. */
static void expect_output(const char *text, const char *want)
{
    char *out = NULL;
    intfa_status st = intfa_template_expand(text, strlen(text), "t.cu", test_vars, NVARS, &out);
    if (st != INTFA_OK) {
        print_error("expand failed: %s\n", intfa_last_error());
        fail();
    }
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

/* Expands text, asserts failure with the exact message, and that *out stayed untouched. */
static void expect_error(const char *text, const char *origin, const char *want)
{
    char *out = (char *)0x1;
    intfa_status st = intfa_template_expand(text, strlen(text), origin, test_vars, NVARS, &out);
    assert_int_equal(st, INTFA_ERR_TEMPLATE);
    assert_ptr_equal(out, (char *)0x1);
    assert_error_equal(want);
}

/* ------------------------------------------------------------------ expansion */

static void test_expand_text(void **state)
{
    (void)state;
    expect_output("", "");
    expect_output("plain\n", "plain\n");
    expect_output("no newline at the end", "no newline at the end");
    expect_output("a ${v.a} b\n", "a 7 b\n");
    expect_output("${v.a}${v.s}${v.yes}${v.no}${v.neg}", "7fp16truefalse-12345678901");
    expect_output("#define HD ${v.head_dim * 2}\n#define T ${v.s == 'fp16' and 'half' or 'bf16'}\n",
                  "#define HD 192\n#define T half\n");
    /* Braces and strings inside ${}; a lone $ or "$ {" stay text. */
    expect_output("${({10, 20, 30})[2]} ${\"}\"} ${'{'} $x $ {y} $", "20 } { $x $ {y} $");
    expect_output("${string.format('%05d', v.a)}|${math.max(3, 9)}|${#v.s}", "00007|9|4");
    /* Bytes that need escaping in a Lua literal pass through unchanged. */
    expect_output("q\"uo\\te ]] [[ ]=] \t tab \x01 \xc3\xa9 end\r\n",
                  "q\"uo\\te ]] [[ ]=] \t tab \x01 \xc3\xa9 end\r\n");
    expect_output("--[[ not a comment\n-- neither\n", "--[[ not a comment\n-- neither\n");
    /* Blank lines and text whose first characters are not //% . */
    expect_output("\n\n  // % not code\n/ /% nor this\n", "\n\n  // % not code\n/ /% nor this\n");
}

static void test_expand_code(void **state)
{
    (void)state;
    expect_output("//% for i = 1, 3 do\n"
                  "x${i}\n"
                  "//% end\n",
                  "x1\nx2\nx3\n");
    expect_output("begin\n"
                  "    //% if v.yes then\n"
                  "yes\n"
                  "\t//% else\n"
                  "no\n"
                  "//% end\n"
                  "//% if v.no then\n"
                  "hidden ${v.undefined_var}\n"
                  "//% end\n"
                  "end",
                  "begin\nyes\nend");
    /* Functions that emit text, nested loops, locals, table and string libraries. */
    expect_output("//% local function row(i)\n"
                  "  r${i}: ${table.concat({i, i * i}, ',')}\n"
                  "//% end\n"
                  "//% for i = 1, 2 do for j = 1, 2 do\n"
                  "//%   row(i * 10 + j)\n"
                  "//% end end\n",
                  "  r11: 11,121\n  r12: 12,144\n  r21: 21,441\n  r22: 22,484\n");
    /* ${ in a code line is Lua, not substitution; CRLF code lines. */
    expect_output("//% local s = \"${kept}\"\r\n${s}\r\n", "${kept}\r\n");
    /* The sandbox: no files, no loading, no printing, no pcall; the three libraries are there. */
    expect_output("//% local function gone(n) return rawget(_G, n) == nil end\n"
                  "${gone('io')} ${gone('os')} ${gone('package')} ${gone('require')} "
                  "${gone('dofile')} ${gone('loadfile')} ${gone('load')} ${gone('print')} "
                  "${gone('pcall')} ${gone('debug')} ${gone('coroutine')} ${gone('utf8')}\n"
                  "${type(string.rep)} ${type(math.floor)} ${type(table.concat)} "
                  "${type(ipairs)} ${type(error)}\n",
                  "true true true true true true true true true true true true\n"
                  "function function function function function\n");
}

static void test_expand_errors(void **state)
{
    (void)state;
    /* Reading what does not exist is an error at its line, never a silent nil. */
    expect_error("a\nb ${v.nope} c\n", "t.cu", "t.cu:2: v has no field \"nope\"");
    expect_error("a\n//% if bf16 then\n//% end\n", "t.cu",
                 "t.cu:2: undefined variable \"bf16\" (locals of a template are not visible in "
                 "the templates it includes)");
    expect_error("line 1\n\n//% error('stop here')\n", "x/y.cu", "x/y.cu:3: stop here");
    expect_error("1\r\n2\r\n//% error('crlf')\r\n", "t.cu", "t.cu:3: crlf");
    expect_error("1\n${v.a .. \"\n", "t.cu", "t.cu:2: unterminated ${ (no closing } on the line)");
    expect_error("${v.a\n}\n", "t.cu", "t.cu:1: unterminated ${ (no closing } on the line)");
    expect_error("ok\n//% local x = 1 +\n//% end\n", "t.cu", "t.cu:3: unexpected symbol near 'end'");
    expect_error("//% x = v.a.b.c\n", "t.cu", "t.cu:1: attempt to index a number value (field 'a')");
    expect_error("\n\n\n//% error({})\n", "t.cu", "t.cu: template raised a table as error");
    /* An origin longer than Lua's chunk-name limit still appears whole. */
    char origin[200];
    memset(origin, 'o', sizeof origin);
    memcpy(origin + sizeof origin - 8, "/long.cu", 8);
    origin[sizeof origin - 1] = '\0';
    char want[300];
    snprintf(want, sizeof want, "%s:2: boom", origin);
    expect_error("\n//% error('boom')\n", origin, want);

    char *out = NULL;
    assert_int_equal(intfa_template_expand(NULL, 0, "t", NULL, 0, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_template_expand("", 0, NULL, NULL, 0, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_template_expand("", 0, "t", NULL, 0, NULL), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_template_expand("", 0, "t", NULL, 1, &out), INTFA_ERR_INVALID_ARGUMENT);
    intfa_tvar bad = {"x", INTFA_TV_STRING, NULL, 0};
    assert_int_equal(intfa_template_expand("", 0, "t", &bad, 1, &out), INTFA_ERR_INVALID_ARGUMENT);
    assert_error_contains("vars[0] (x)");
    assert_null(out);
}

static void test_limits(void **state)
{
    (void)state;
    expect_error("//% local n = 0\n//% while true do n = n + 1 end\n", "loop.cu",
                 "loop.cu:2: template ran more than 100 million Lua instructions (runaway loop?)");
    expect_error("//% for i = 1, 100 do\n${string.rep('x', 1000000)}\n//% end\n", "big.cu",
                 "big.cu:2: template output exceeds 16 MiB");
    char *out = (char *)0x1;
    const char *hog = "//% local t = {}\n//% for i = 1, 1e9 do t[i] = string.rep('y', 4096) .. i end\n";
    assert_int_equal(intfa_template_expand(hog, strlen(hog), "hog.cu", NULL, 0, &out),
                     INTFA_ERR_TEMPLATE);
    assert_ptr_equal(out, (char *)0x1);
    assert_error_contains("hog.cu: template used more than 256 MiB of memory");
    /* Below the limits all is well: 15 MiB of output. */
    const char *fine = "//% for i = 1, 15 do\n${string.rep('z', 1048575)}\n//% end\n";
    out = NULL;
    assert_int_equal(intfa_template_expand(fine, strlen(fine), "fine.cu", NULL, 0, &out), INTFA_OK);
    assert_int_equal(strlen(out), 15u << 20);
    free(out);
}

/* What the fuzzer found (fuzz/corpus/template/regress_*): library functions whose running
 * time the instruction limit does not see are gone or bounded, and the time limit stops
 * instructions whose cost grows with their operands. */
static void test_sandbox(void **state)
{
    (void)state;
    expect_output("${type(string.find)} ${type(string.gsub)} ${type(table.move)} "
                  "${type(table.insert)} ${type(rawget(_G, 'setmetatable'))} "
                  "${type(rawget(_G, 'collectgarbage'))}\n",
                  "nil nil nil nil nil nil\n");
    expect_output("${string.format('%d', 7)} ${table.concat({'a', 'b'}, '-')} [${('').rep('', "
                  "math.maxinteger)}] ${('ab'):rep(3, ',')}\n",
                  "7 a-b [] ab,ab,ab\n");
    expect_error("${('x'):rep(1 << 40)}\n", "rep.cu",
                 "rep.cu:1: string.rep: the result would exceed 16777216 bytes");
    const intfa_template_limits low = {.output_mib = 1, .memory_mib = 64, .instructions = 5000,
                                       .seconds = 1};
    intfa_template_set_limits(&low);
    expect_error("//% while true do end\n", "few.cu",
                 "few.cu:1: template ran more than 5000 Lua instructions (runaway loop?)");
    const intfa_template_limits slow = {.output_mib = 16, .memory_mib = 64,
                                        .instructions = 1000000000000LL, .seconds = 1};
    intfa_template_set_limits(&slow);
    expect_error("//% local a, b = ('x'):rep(1 << 23), ('x'):rep(1 << 23)\n"
                 "//% while true do local same = a == b end\n", "slow.cu",
                 "slow.cu:2: template ran longer than 1 s (runaway loop?)");
    intfa_template_set_limits(NULL);
    expect_error("//% while true do end\n", "loop.cu",
                 "loop.cu:1: template ran more than 100 million Lua instructions (runaway loop?)");
}

/* ------------------------------------------------------------------ fixtures */

static void expand_fixture(const char *name, const char *want_line_msg)
{
    char *text = NULL, *origin = NULL, *out = NULL;
    size_t size = 0;
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", fixtures, 1), 0);
    assert_int_equal(intfa_template_load(name, &text, &size, &origin), INTFA_OK);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", fixtures, name);
    assert_string_equal(origin, path);
    intfa_tvar vars[] = {{"a", INTFA_TV_INT, NULL, 1}, {"head_dim", INTFA_TV_INT, NULL, 96}};
    assert_int_equal(intfa_template_expand(text, size, origin, vars, 2, &out), INTFA_ERR_TEMPLATE);
    assert_null(out);
    char want[4400];
    snprintf(want, sizeof want, "%s:%s", path, want_line_msg);
    assert_error_equal(want);
    free(text);
    free(origin);
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", "", 1), 0);
}

static void test_bad_fixtures(void **state)
{
    (void)state;
    expand_fixture("syntax_error.cu", "4: unexpected symbol near 'then'");
    expand_fixture("runtime_error.cu", "6: head_dim 96 is not supported");
    expand_fixture("unterminated.cu", "4: unterminated ${ (no closing } on the line)");
    expand_fixture("runaway.cu",
                   "3: template ran more than 100 million Lua instructions (runaway loop?)");
}

/* ------------------------------------------------------------------ loading */

static void test_load_override(void **state)
{
    (void)state;
    write_file(tmpdir, "mine.cu", "hello ${v.a}\n");
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", tmpdir, 1), 0);
    char *text = NULL, *origin = NULL;
    size_t size = 0;
    assert_int_equal(intfa_template_load("mine.cu", &text, &size, &origin), INTFA_OK);
    assert_string_equal(text, "hello ${v.a}\n");
    assert_int_equal(size, strlen("hello ${v.a}\n"));
    char path[200];
    snprintf(path, sizeof path, "%s/mine.cu", tmpdir);
    assert_string_equal(origin, path);
    free(text);
    free(origin);
    text = NULL;
    assert_int_equal(intfa_template_load("mine.cu", &text, &size, NULL), INTFA_OK);
    free(text);

    text = (char *)0x1;
    size = 77;
    assert_int_equal(intfa_template_load("absent.cu", &text, &size, &origin), INTFA_ERR_IO);
    assert_ptr_equal(text, (char *)0x1);
    assert_int_equal(size, 77);
    char want[300];
    snprintf(want, sizeof want, "INTFA_TEMPLATE_DIR=%s: cannot open template %s/absent.cu: ",
             tmpdir, tmpdir);
    assert_error_contains(want);

    const char *bad[] = {"", "../mine.cu", "a/b.cu", "..", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(intfa_template_load(bad[i], &text, &size, &origin),
                         INTFA_ERR_INVALID_ARGUMENT);
        assert_error_contains("not a plain file name");
    }
    assert_int_equal(intfa_template_load(NULL, &text, &size, &origin), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_template_load("mine.cu", NULL, &size, &origin),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_template_load("mine.cu", &text, NULL, &origin),
                     INTFA_ERR_INVALID_ARGUMENT);

    /* Empty INTFA_TEMPLATE_DIR: the embedded table, which holds no "mine.cu". */
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", "", 1), 0);
    assert_int_equal(intfa_template_load("mine.cu", &text, &size, &origin),
                     INTFA_ERR_INVALID_ARGUMENT);
    assert_error_equal("template name \"mine.cu\": no embedded template of that name");
    assert_ptr_equal(text, (char *)0x1);
}

/* include("name"): expands another template in place with the same variables; errors name
 * the included file and its line; runaway recursion stops at the depth limit. */
static void test_include(void **state)
{
    (void)state;
    write_file(tmpdir, "inc_part.cu", "part a=${v.a}\n//% if v.yes then\nyes\n//% end\n");
    write_file(tmpdir, "inc_bad.cu", "ok\n//% error(\"broken here\")\n");
    write_file(tmpdir, "inc_self.cu", "//% include(\"inc_self.cu\")\n");
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", tmpdir, 1), 0);
    expect_output("head\n//% include(\"inc_part.cu\")\ntail ${v.s}\n",
                  "head\npart a=7\nyes\ntail fp16\n");
    char want[4400];
    snprintf(want, sizeof want, "%s/inc_bad.cu:2: broken here", tmpdir);
    char *out = (char *)0x1;
    const char *text = "x\n//% include(\"inc_bad.cu\")\n";
    assert_int_equal(intfa_template_expand(text, strlen(text), "t.cu", test_vars, NVARS, &out),
                     INTFA_ERR_TEMPLATE);
    assert_error_contains(want);
    assert_ptr_equal(out, (char *)0x1);
    text = "//% include(\"inc_self.cu\")\n";
    assert_int_equal(intfa_template_expand(text, strlen(text), "t.cu", test_vars, NVARS, &out),
                     INTFA_ERR_TEMPLATE);
    assert_error_contains("nested more than 8 deep");
    text = "//% include(\"no_such_template.cu\")\n";
    assert_int_equal(intfa_template_expand(text, strlen(text), "t.cu", test_vars, NVARS, &out),
                     INTFA_ERR_TEMPLATE);
    assert_error_contains("include(\"no_such_template.cu\")");
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", "", 1), 0);
}

static void test_embedded(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("INTFA_TEMPLATE_DIR"), 0);
    const char *names[] = {"attn_fwd.cu", "quant_qk.cu", "quant_v.cu"};
    for (int i = 0; i < 3; i++) {
        const intfa_embedded_template *e = intfa_embedded_templates;
        int found = 0;
        for (; e->name; e++) found += strcmp(e->name, names[i]) == 0;
        if (!found) {
            printf("SKIP: templates/%s is not embedded (not written yet?)\n", names[i]);
            continue;
        }
        assert_int_equal(found, 1);
        char *text = NULL, *origin = NULL;
        size_t size = 0;
        assert_int_equal(intfa_template_load(names[i], &text, &size, &origin), INTFA_OK);
        for (e = intfa_embedded_templates; strcmp(e->name, names[i]) != 0; e++) continue;
        assert_int_equal(size, e->size);
        assert_memory_equal(text, e->text, size);
        assert_int_equal(text[size], '\0');
        char want[64];
        snprintf(want, sizeof want, "templates/%s", names[i]);
        assert_string_equal(origin, want);
        free(text);
        free(origin);
    }
    /* The hash: FNV-1a over (name, NUL, size as 8 LE bytes, text) of every entry. */
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (const intfa_embedded_template *e = intfa_embedded_templates; e->name; e++) {
        size_t nl = strlen(e->name) + 1;
        for (size_t i = 0; i < nl; i++) h = (h ^ (unsigned char)e->name[i]) * 0x100000001b3ULL;
        for (int i = 0; i < 8; i++)
            h = (h ^ ((unsigned long long)e->size >> (8 * i) & 0xff)) * 0x100000001b3ULL;
        for (size_t i = 0; i < e->size; i++) h = (h ^ (unsigned char)e->text[i]) * 0x100000001b3ULL;
    }
    assert_true(h == intfa_template_hash());
    assert_true(intfa_template_hash() == intfa_template_hash());
}

/* ------------------------------------------------------------------ render */

static const char *dump_template =
    "//% local keys = {'kind','name','arch','arch_a','head_dim','block_m','block_n','warps',\n"
    "//%   'stages','int4','causal','dtype','p_quant','smem_bytes'}\n"
    "//% for _, k in ipairs(keys) do\n"
    "${k}=${v[k]}\n"
    "//% end\n";

static void test_render(void **state)
{
    (void)state;
    assert_string_equal(intfa_variant_template_name(INTFA_KIND_ATTN_FWD), "attn_fwd.cu");
    assert_string_equal(intfa_variant_template_name(INTFA_KIND_QUANT_QK), "quant_qk.cu");
    assert_string_equal(intfa_variant_template_name(INTFA_KIND_QUANT_V), "quant_v.cu");
    assert_null(intfa_variant_template_name(INTFA_KIND_COUNT));

    write_file(tmpdir, "attn_fwd.cu", dump_template);
    write_file(tmpdir, "attn_fwd_wg.cu", dump_template); /* sm_90a INT8 one-row-tile variants */
    write_file(tmpdir, "quant_qk.cu", dump_template);
    write_file(tmpdir, "quant_v.cu", "//% error('quant_v says no')\n");
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", tmpdir, 1), 0);

    intfa_variant v;
    assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, 128,
                                           INTFA_FMT_INT8, 1, INTFA_DTYPE_BF16, INTFA_PQ_S8_127,
                                           &v),
                     INTFA_OK);
    char *src = NULL;
    assert_int_equal(intfa_variant_render(&v, &src), INTFA_OK);
    /* K/V by TMA (unless INTFA_KV_TMA=0): two 128-byte key-scale slots more
     * (templates/attn_fwd_wg.cu) */
    const char *kv_tma = getenv("INTFA_KV_TMA");
    char want_wg[512];
    snprintf(want_wg, sizeof want_wg,
             "// intfa attn_fwd-sm90a-d128-int8-bf16-causal-ps8-m64n128w4s2\n"
             "kind=attn_fwd\n"
             "name=attn_fwd-sm90a-d128-int8-bf16-causal-ps8-m64n128w4s2\n"
             "arch=90\narch_a=true\nhead_dim=128\nblock_m=64\nblock_n=128\n"
             "warps=4\nstages=2\nint4=false\ncausal=true\ndtype=bf16\n"
             "p_quant=s8_127\nsmem_bytes=%d\n",
             kv_tma && kv_tma[0] == '0' ? 75776 : 75776 + 256);
    assert_string_equal(src, want_wg);
    intfa_free(src);

    assert_int_equal(intfa_variant_default(INTFA_KIND_QUANT_QK, INTFA_ARCH_SM86, 64,
                                           INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           &v),
                     INTFA_OK);
    src = NULL;
    assert_int_equal(intfa_variant_render(&v, &src), INTFA_OK);
    assert_string_equal(src, "// intfa quant_qk-sm86-d64-int8-fp16-w4\n"
                             "kind=quant_qk\nname=quant_qk-sm86-d64-int8-fp16-w4\n"
                             "arch=86\narch_a=false\nhead_dim=64\nblock_m=0\nblock_n=0\n"
                             "warps=4\nstages=0\nint4=false\ncausal=false\ndtype=fp16\n"
                             "p_quant=u8row\nsmem_bytes=0\n");
    intfa_free(src);

    /* A template error names the variant, the file and the line. */
    assert_int_equal(intfa_variant_default(INTFA_KIND_QUANT_V, INTFA_ARCH_SM80, 64,
                                           INTFA_FMT_INT8, 0, INTFA_DTYPE_FP16, INTFA_PQ_U8_ROW,
                                           &v),
                     INTFA_OK);
    src = (char *)0x1;
    assert_int_equal(intfa_variant_render(&v, &src), INTFA_ERR_TEMPLATE);
    assert_ptr_equal(src, (char *)0x1);
    char want[300];
    snprintf(want, sizeof want, "rendering quant_v-sm80-d64-fp16-w4: %s/quant_v.cu:1: quant_v says no",
             tmpdir);
    assert_error_equal(want);

    /* An invalid variant is refused before any template is read. */
    v.warps = 3;
    assert_int_equal(intfa_variant_render(&v, &src), INTFA_ERR_UNSUPPORTED);
    assert_error_contains("warps = 3");
    assert_ptr_equal(src, (char *)0x1);
    assert_int_equal(intfa_variant_render(NULL, &src), INTFA_ERR_INVALID_ARGUMENT);
    assert_int_equal(intfa_variant_render(&v, NULL), INTFA_ERR_INVALID_ARGUMENT);

    char path[200];
    snprintf(path, sizeof path, "%s/quant_v.cu", tmpdir);
    assert_int_equal(unlink(path), 0);
    v.warps = 4;
    assert_int_equal(intfa_variant_render(&v, &src), INTFA_ERR_IO);
    assert_ptr_equal(src, (char *)0x1);
    assert_error_contains("quant_v.cu");
    assert_int_equal(setenv("INTFA_TEMPLATE_DIR", "", 1), 0);
}

/* What a rendered INT8 attention source must show: the output conversion of its dtype (the
 * tile code is an included template, where a variable's scope once silently made bf16 fp16)
 * and wgmma exactly on the wgmma variants. */
static void check_attention_source(const intfa_variant *v, const char *name, const char *src)
{
    if (v->kind != INTFA_KIND_ATTN_FWD) return;
    const int bf16 = v->dtype == INTFA_DTYPE_BF16, wg = intfa_variant_uses_wgmma(v);
    if ((strstr(src, "cvt.rn.bf16x2.f32") != NULL) != bf16 ||
        (strstr(src, "cvt.rn.f16x2.f32") != NULL) == bf16 ||
        (strstr(src, "wgmma.mma_async") != NULL) != wg) {
        print_error("%s: expected the %s output conversion and %s\n", name,
                    bf16 ? "bf16" : "fp16", wg ? "wgmma" : "no wgmma");
        fail();
    }
}

/* The real templates, when embedded: every default variant of every arch renders. */
/* The entry points that runtime/quantize.c looks up, in the modules it looks them up in: the
 * K/V pass alone in quant_v (the streamed kernel on sm_90, where there are no two-launch
 * kernels, so the host must not ask for them; the two launches elsewhere), intfa_quantize_v's
 * three kernels in every quant_qk module (INT8 API and INT4 drop-in) and in no quant_v one. */
static void check_kv_pass_entries(const intfa_variant *v, const char *src)
{
    static const char *const v_api[3] = {"intfa_quant_v_amax(const", "intfa_quant_v_pack(const",
                                         "intfa_quant_v_scale(const"};
    if (v->kind == INTFA_KIND_QUANT_QK)
        for (int i = 0; i < 3; i++) assert_non_null(strstr(src, v_api[i]));
    if (v->kind != INTFA_KIND_QUANT_V) return;
    const int sm90 = v->arch == INTFA_ARCH_SM90 || v->arch == INTFA_ARCH_SM90A;
    assert_int_equal(strstr(src, "intfa_quant_kv_stream(const") != NULL, sm90);
    assert_int_equal(strstr(src, "intfa_quant_kv_stats(const") != NULL, !sm90);
    assert_int_equal(strstr(src, "intfa_quant_kv_pack(const") != NULL, !sm90);
    for (int i = 0; i < 3; i++) assert_null(strstr(src, v_api[i]));
}

static void test_render_embedded(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("INTFA_TEMPLATE_DIR"), 0);
    for (int k = 0; k < INTFA_KIND_COUNT; k++) {
        const char *tname = intfa_variant_template_name((intfa_kind)k);
        const intfa_embedded_template *e = intfa_embedded_templates;
        while (e->name && strcmp(e->name, tname) != 0) e++;
        if (!e->name) {
            printf("SKIP: templates/%s is not embedded; its variants are not rendered\n", tname);
            return;
        }
    }
    for (int a = 0; a < INTFA_ARCH_COUNT; a++) {
        intfa_variant set[48];
        size_t n = 0;
        assert_int_equal(intfa_variant_default_set((intfa_arch)a, set, 48, &n), INTFA_OK);
        assert_true(n <= 48);
        for (size_t i = 0; i < n; i++) {
            char name[INTFA_VARIANT_NAME_MAX], head[INTFA_VARIANT_NAME_MAX + 16];
            assert_int_equal(intfa_variant_name(&set[i], name, sizeof name), INTFA_OK);
            char *src = NULL;
            if (intfa_variant_render(&set[i], &src) != INTFA_OK) {
                print_error("%s: %s\n", name, intfa_last_error());
                fail();
            }
            snprintf(head, sizeof head, "// intfa %s\n", name);
            assert_memory_equal(src, head, strlen(head));
            check_attention_source(&set[i], name, src);
            check_kv_pass_entries(&set[i], src);
            intfa_free(src);
        }
    }
    /* A one-row-tile INT8 tile: wgmma on sm_90a, mma.sync on sm_90 (checked above). */
    for (int a = INTFA_ARCH_SM90; a <= INTFA_ARCH_SM90A; a++)
        for (int dt = INTFA_DTYPE_FP16; dt <= INTFA_DTYPE_BF16; dt++) {
            intfa_variant v;
            assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, (intfa_arch)a, 128,
                                                   INTFA_FMT_INT8, 0, (intfa_dtype)dt,
                                                   INTFA_PQ_U8_ROW, &v),
                             INTFA_OK);
            v.block_m = 64;
            v.block_n = 128;
            char name[INTFA_VARIANT_NAME_MAX], *src = NULL;
            assert_int_equal(intfa_variant_name(&v, name, sizeof name), INTFA_OK);
            assert_int_equal(intfa_variant_render(&v, &src), INTFA_OK);
            assert_int_equal(intfa_variant_uses_wgmma(&v), a == INTFA_ARCH_SM90A);
            check_attention_source(&v, name, src);
            intfa_free(src);
        }
}

/* The wgmma kernel's P.V chunking (templates/attn_wgmma.cu): chunks divide the padded head
 * dim, the whole of it up to 128, and are pipelined exactly where that measured faster (head
 * dims 160 and 256, 192 causal; 4-warp tiles; not the padded dims that share their width),
 * within the registers two live chunks need. */
static int rendered_define(const char *src, const char *macro)
{
    char key[64];
    snprintf(key, sizeof key, "#define %s ", macro);
    const char *at = strstr(src, key);
    assert_non_null(at);
    return atoi(at + strlen(key));
}

static void test_pv_chunks(void **state)
{
    (void)state;
    assert_int_equal(unsetenv("INTFA_TEMPLATE_DIR"), 0);
    const intfa_embedded_template *e = intfa_embedded_templates;
    while (e->name && strcmp(e->name, "attn_wgmma.cu") != 0) e++;
    if (!e->name) {
        printf("SKIP: templates/attn_wgmma.cu is not embedded\n");
        return;
    }
    int pipelined = 0, past192[2] = {0, 0};
    for (int hd = 32; hd <= 256; hd += 16)
        for (int causal = 0; causal <= 1; causal++)
            for (int warps = 4; warps <= 8; warps += 4) {
                intfa_variant v;
                assert_int_equal(intfa_variant_default(INTFA_KIND_ATTN_FWD, INTFA_ARCH_SM90A, hd,
                                                       INTFA_FMT_INT8, causal, INTFA_DTYPE_FP16,
                                                       INTFA_PQ_U8_ROW, &v),
                                 INTFA_OK);
                /* both one-warpgroup (m64w4) and two-warpgroup (m128w8) blocks, whichever the
                 * default is: past 192 it is m128n128w8, and m64n128w4 must still render */
                v.block_m = 16 * warps;
                v.warps = warps;
                if (intfa_variant_check(&v) != INTFA_OK) continue;
                char *src = NULL;
                assert_int_equal(intfa_variant_render(&v, &src), INTFA_OK);
                const int hd_k = rendered_define(src, "HD"), pvn = rendered_define(src, "PVN");
                const int pipe = rendered_define(src, "PV_PIPE");
                assert_int_equal(rendered_define(src, "WARPS"), warps);
                assert_int_equal(rendered_define(src, "BM"), 16 * warps);
                /* K/V by TMA: every multiple of 32, none with INTFA_KV_TMA=0 */
                const char *kv_tma = getenv("INTFA_KV_TMA");
                assert_int_equal(rendered_define(src, "KV_TMA"),
                                 kv_tma && kv_tma[0] == '0' ? 0 : hd % 32 == 0);
                intfa_free(src);
                if (hd > 192) past192[warps / 8]++;
                assert_int_equal(hd_k, (hd + 31) / 32 * 32);
                assert_int_equal(hd_k % pvn, 0);
                assert_int_equal(pvn % 16, 0);
                if (hd_k <= 128) assert_int_equal(pvn, hd_k);
                const int want = warps == 4 && (hd == 160 || hd == 256 || (hd == 192 && causal));
                assert_int_equal(pipe, want);
                if (pipe) assert_true(hd_k / 2 + pvn <= (hd_k > 160 ? 192 : 120));
                else assert_true(hd_k / 2 + pvn / 2 <= 168);
                /* the widest chunk the budget allows (what was measured) */
                if (hd_k == 160) assert_int_equal(pvn, pipe ? 32 : 80);
                if (hd_k == 192) assert_int_equal(pvn, 96);
                if (hd_k == 224) assert_int_equal(pvn, 112);
                if (hd_k == 256) assert_int_equal(pvn, 64);
                pipelined += pipe;
            }
    assert_int_equal(pipelined, 5); /* 160 and 256 both masks, 192 causal */
    /* 208, 224, 240 and 256, both masks, with 4 and with 8 warps */
    assert_int_equal(past192[0], 8);
    assert_int_equal(past192[1], 8);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/intfa_test_template_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    const char *src = getenv("INTFA_SOURCE_DIR");
    if (src && src[0]) {
        snprintf(fixtures, sizeof fixtures, "%s/tests/templates_bad", src);
    } else { /* this file's directory */
        snprintf(fixtures, sizeof fixtures, "%s", __FILE__);
        char *slash = strrchr(fixtures, '/');
        if (slash) *slash = '\0'; else strcpy(fixtures, ".");
        strncat(fixtures, "/templates_bad", sizeof fixtures - strlen(fixtures) - 1);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {"mine.cu", "attn_fwd.cu", "attn_fwd_wg.cu", "quant_qk.cu", "quant_v.cu",
                           "inc_part.cu", "inc_bad.cu", "inc_self.cu"};
    char path[200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_text),    cmocka_unit_test(test_expand_code),
        cmocka_unit_test(test_expand_errors),  cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_fixtures),   cmocka_unit_test(test_load_override),
        cmocka_unit_test(test_include),        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_embedded),       cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_embedded), cmocka_unit_test(test_pv_chunks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
