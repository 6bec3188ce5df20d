/* fuzz_template.c - libFuzzer harness: template expansion (intfa_template_expand,
 * generator/template.c) of arbitrary template text, under lowered limits (1 MiB of output,
 * 4 MiB of Lua memory, 10000 Lua instructions, 1 s) so that inputs reach them quickly.
 * The variables are those the renderer hands every kernel template, so include() of the
 * embedded templates runs them for real.
 *
 * Oracle: the expansion ends (libFuzzer's -timeout catches any that does not: a limit that
 * does not hold), with INTFA_OK and at most the output limit, or INTFA_ERR_TEMPLATE /
 * INTFA_ERR_OUT_OF_MEMORY with a message and no output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "template.h"

#define OUTPUT_MIB 1

static const intfa_tvar vars[] = {
    {"kind", INTFA_TV_STRING, "attn_fwd", 0},
    {"name", INTFA_TV_STRING, "attn_fwd-sm80-d64-int8-fp16-causal-pu8-m64n128w4s2", 0},
    {"arch", INTFA_TV_INT, NULL, 80},
    {"arch_a", INTFA_TV_BOOL, NULL, 0},
    {"head_dim", INTFA_TV_INT, NULL, 64},
    {"block_m", INTFA_TV_INT, NULL, 64},
    {"block_n", INTFA_TV_INT, NULL, 128},
    {"warps", INTFA_TV_INT, NULL, 4},
    {"stages", INTFA_TV_INT, NULL, 2},
    {"int4", INTFA_TV_BOOL, NULL, 0},
    {"causal", INTFA_TV_BOOL, NULL, 1},
    {"dtype", INTFA_TV_STRING, "fp16", 0},
    {"p_quant", INTFA_TV_STRING, "u8row", 0},
    {"smem_bytes", INTFA_TV_INT, NULL, 45568},
    {"int4_native_test", INTFA_TV_BOOL, NULL, 0},
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("INTFA_TEMPLATE_DIR"); /* include() reads the embedded templates */
    const intfa_template_limits low = {.output_mib = OUTPUT_MIB, .memory_mib = 4,
                                       .instructions = 10000, .seconds = 1};
    intfa_template_set_limits(&low);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    char *out = (char *)"untouched";
    intfa_status st = intfa_template_expand((const char *)data, size, "fuzz.cu", vars,
                                            sizeof vars / sizeof vars[0], &out);
    if (st == INTFA_OK) {
        FUZZ_CHECK(out != NULL, "INTFA_OK without output");
        FUZZ_CHECK(strlen(out) <= ((size_t)OUTPUT_MIB << 20), "output of %zu bytes passed the limit",
                   strlen(out));
        free(out);
        return 0;
    }
    FUZZ_CHECK(st == INTFA_ERR_TEMPLATE || st == INTFA_ERR_OUT_OF_MEMORY,
               "failed with status %d: %s", (int)st, intfa_last_error());
    FUZZ_CHECK(intfa_last_error()[0] != '\0', "failed without a message");
    FUZZ_CHECK(strcmp(out, "untouched") == 0, "a failed expansion set the output");
    return 0;
}
