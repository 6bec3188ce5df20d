/* fuzz_variant_name.c - libFuzzer harness: variant names (intfa_variant_parse and
 * intfa_variant_name, generator/variant.c) and arch names (intfa_arch_parse).
 *
 * Input: one mode byte, then
 *   mode even: a name. Whatever parses prints back as exactly the same text (names are
 *     canonical: one spelling per variant), and that text parses to the same variant;
 *     a rejection is INVALID_ARGUMENT with a message, the output untouched.
 *   mode odd: the bytes of an intfa_variant (any field values). Whatever gets a name parses
 *     back to the variant with the fields its kind does not have zeroed; the validity check
 *     agrees for both.
 * Both modes also parse the text as an arch name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* v with the fields its kind does not have zeroed (what a parse yields). */
static intfa_variant kind_fields(intfa_variant v)
{
    const int attention = v.kind == INTFA_KIND_ATTN_FWD || v.kind == INTFA_KIND_ATTN_FWD_FP16;
    if (!attention) v.block_m = v.block_n = v.stages = v.causal = 0;
    if (v.kind != INTFA_KIND_ATTN_FWD) v.p_quant = 0;
    if (v.kind != INTFA_KIND_ATTN_FWD && v.kind != INTFA_KIND_QUANT_QK) v.qk_format = 0;
    return v;
}

static void name_round_trip(const char *name)
{
    intfa_variant v, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);
    v = sentinel;
    intfa_status st = intfa_variant_parse(name, &v);
    if (st != INTFA_OK) {
        FUZZ_CHECK(st == INTFA_ERR_INVALID_ARGUMENT, "rejected with status %d", (int)st);
        FUZZ_CHECK(intfa_last_error()[0] != '\0', "rejected without a message");
        FUZZ_CHECK(memcmp(&v, &sentinel, sizeof v) == 0, "a rejected name changed the output");
        return;
    }
    char printed[INTFA_VARIANT_NAME_MAX];
    st = intfa_variant_name(&v, printed, sizeof printed);
    FUZZ_CHECK(st == INTFA_OK, "\"%s\" parses but does not print: %s", name, intfa_last_error());
    FUZZ_CHECK(strcmp(printed, name) == 0, "\"%s\" parses but prints as \"%s\"", name, printed);
    intfa_variant again;
    FUZZ_CHECK(intfa_variant_parse(printed, &again) == INTFA_OK &&
                   memcmp(&again, &v, sizeof v) == 0,
               "\"%s\" does not parse back to the same variant", printed);
    intfa_variant_check(&v);
}

static void variant_round_trip(const intfa_variant *raw)
{
    char name[INTFA_VARIANT_NAME_MAX];
    if (intfa_variant_name(raw, name, sizeof name) != INTFA_OK) {
        FUZZ_CHECK(intfa_last_error()[0] != '\0', "no name and no message");
        return;
    }
    intfa_variant parsed;
    FUZZ_CHECK(intfa_variant_parse(name, &parsed) == INTFA_OK,
               "the name \"%s\" of a variant does not parse: %s", name, intfa_last_error());
    const intfa_variant want = kind_fields(*raw);
    FUZZ_CHECK(memcmp(&parsed, &want, sizeof want) == 0,
               "\"%s\" parses to another variant than the one printed", name);
    FUZZ_CHECK(intfa_variant_check(raw) == intfa_variant_check(&parsed),
               "the check differs between a variant and the parse of its name \"%s\"", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    const int mode = data[0] & 1;
    data++;
    size--;
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    if (mode == 0) {
        name_round_trip(text);
    } else if (size >= sizeof(intfa_variant)) {
        intfa_variant raw;
        memcpy(&raw, data, sizeof raw);
        variant_round_trip(&raw);
    }
    intfa_arch arch = (intfa_arch)-1;
    if (intfa_arch_parse(text, &arch) == INTFA_OK)
        FUZZ_CHECK((unsigned)arch < INTFA_ARCH_COUNT, "arch \"%s\" parsed to %d", text, (int)arch);
    else
        FUZZ_CHECK(arch == (intfa_arch)-1, "a rejected arch name changed the output");
    free(text);
    return 0;
}
