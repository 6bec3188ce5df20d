/* template.c - kernel templates: load (embedded or $INTFA_TEMPLATE_DIR), expand with Lua.
 *
 * A template becomes a Lua chunk with one Lua line per template line, so Lua's own messages
 * carry template line numbers:
 *   "//% code"            ->  code
 *   "a ${e} b\n"          ->  __o("a ",__x((e),"e")," b\012")
 * __o appends to the output (bounded), __x is tostring() that refuses nil (a misspelt
 * variable would otherwise print "nil" into the CUDA source). Both are locals of the chunk,
 * passed as its arguments. The chunk runs in a fresh lua_State with the library of
 * template_sandbox.h (parts of base, string, math and table) under the limits of template.h:
 * output, memory, instructions and time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "error.h"
#include "template.h"
#include "template_sandbox.h"

#define HOOK_EVERY 1000 /* instructions between hook calls (each checks both limits) */

/* The limits every expansion runs under (template.h); changed only by
 * intfa_template_set_limits. */
#define DEFAULT_LIMITS \
    {.output_mib = 16, .memory_mib = 256, .instructions = 100000000LL, .seconds = 60}
static intfa_template_limits limits = DEFAULT_LIMITS;

void intfa_template_set_limits(const intfa_template_limits *l)
{
    static const intfa_template_limits defaults = DEFAULT_LIMITS;
    limits = l ? *l : defaults;
}

static size_t output_limit(void) { return (size_t)limits.output_mib << 20; }

/* ------------------------------------------------------------------ load */

static intfa_status read_file(const char *path, char **text, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return intfa_fail(INTFA_ERR_IO, "cannot open template %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "template %s: %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return intfa_fail(INTFA_ERR_IO, "cannot read template %s", path);
    }
    buf[len] = '\0';
    *text = buf;
    *size = len;
    return INTFA_OK;
}

static char *dup_str(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

intfa_status intfa_template_load(const char *name, char **text, size_t *size, char **origin)
{
    if (!name) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "template name is NULL");
    if (!text) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "text pointer is NULL");
    if (!size) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "size pointer is NULL");
    if (!name[0] || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                          "template name \"%s\": not a plain file name", name);

    char *t = NULL, *o = NULL;
    size_t n = 0;
    const char *dir = getenv("INTFA_TEMPLATE_DIR");
    if (dir && dir[0]) {
        o = dup_str(dir, "/", name);
        if (!o) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "template path of %s", name);
        intfa_status st = read_file(o, &t, &n);
        if (st != INTFA_OK) {
            free(o);
            return intfa_fail_wrap(st, "INTFA_TEMPLATE_DIR=%s", dir);
        }
    } else {
        const intfa_embedded_template *e = intfa_embedded_templates;
        while (e->name && strcmp(e->name, name) != 0) e++;
        if (!e->name)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT,
                              "template name \"%s\": no embedded template of that name", name);
        t = malloc(e->size + 1);
        o = dup_str("templates/", name, "");
        if (!t || !o) {
            free(t);
            free(o);
            return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "template %s: %zu bytes", name, e->size);
        }
        memcpy(t, e->text, e->size);
        t[e->size] = '\0';
        n = e->size;
    }
    *text = t;
    *size = n;
    if (origin)
        *origin = o;
    else
        free(o);
    return INTFA_OK;
}

unsigned long long intfa_template_hash(void)
{
    /* FNV-1a over name, NUL, size as 8 little-endian bytes, text of every entry in order. */
    unsigned long long h = 0xcbf29ce484222325ULL;
    const unsigned long long prime = 0x100000001b3ULL;
    for (const intfa_embedded_template *e = intfa_embedded_templates; e->name; e++) {
        for (const char *p = e->name;; p++) {
            h = (h ^ (unsigned char)*p) * prime;
            if (!*p) break;
        }
        for (int i = 0; i < 8; i++) h = (h ^ ((e->size >> (8 * i)) & 0xff)) * prime;
        for (size_t i = 0; i < e->size; i++) h = (h ^ (unsigned char)e->text[i]) * prime;
    }
    return h;
}

/* ------------------------------------------------------------------ translate */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->cap - b->len < n + 1) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap - b->len < n + 1) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* A Lua quoted literal of bytes s[0..n): printable ASCII as is, the rest as \ddd. */
static void sb_quote(sbuf *b, const char *s, size_t n)
{
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            sb_add(b, (const char *)&c, 1);
        } else {
            char esc[5];
            snprintf(esc, sizeof esc, "\\%03u", c);
            sb_add(b, esc, 4);
        }
    }
    sb_add(b, "\"", 1);
}

/* End of the expression that starts at s (just after "${"), within the line [s, end): the
 * '}' that closes it, skipping nested braces and quoted strings; NULL if the line ends first. */
static const char *expr_end(const char *s, const char *end)
{
    int depth = 0;
    for (const char *p = s; p < end; p++) {
        if (*p == '"' || *p == '\'') {
            char q = *p;
            for (p++; p < end && *p != q; p++)
                if (*p == '\\') p++;
            if (p >= end) return NULL;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}') {
            if (depth == 0) return p;
            depth--;
        }
    }
    return NULL;
}

/* Translates the template into a Lua chunk, one Lua line per template line. */
static intfa_status translate(const char *text, size_t size, const char *origin, sbuf *lua)
{
    const char *p = text, *end = text + size;
    int line = 1;
    sb_str(lua, "local __o, __x = ...; ");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;       /* end of the line's content */
        const char *next = nl ? nl + 1 : end;  /* start of the next line */
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t')) q++;
        if (eol - q >= 3 && memcmp(q, "//%", 3) == 0) {
            /* Code: verbatim; a lone '\r' would be a line break to Lua, so blank it. */
            for (const char *c = q + 3; c < eol; c++) {
                char ch = (*c == '\r' && c + 1 < eol) ? ' ' : *c;
                sb_add(lua, &ch, 1);
            }
        } else {
            sb_str(lua, "__o(");
            const char *lit = p;
            int first = 1;
            for (const char *c = p; c < eol;) {
                if (c[0] == '$' && c + 1 < eol && c[1] == '{') {
                    const char *e = expr_end(c + 2, eol);
                    if (!e)
                        return intfa_fail(INTFA_ERR_TEMPLATE,
                                          "%s:%d: unterminated ${ (no closing } on the line)",
                                          origin, line);
                    if (c > lit) {
                        if (!first) sb_str(lua, ",");
                        sb_quote(lua, lit, (size_t)(c - lit));
                        first = 0;
                    }
                    if (!first) sb_str(lua, ",");
                    sb_str(lua, "__x((");
                    sb_add(lua, c + 2, (size_t)(e - (c + 2)));
                    sb_str(lua, "),");
                    sb_quote(lua, c + 2, (size_t)(e - (c + 2)));
                    sb_str(lua, ")");
                    first = 0;
                    c = lit = e + 1;
                } else {
                    c++;
                }
            }
            if (next > lit) {
                if (!first) sb_str(lua, ",");
                sb_quote(lua, lit, (size_t)(next - lit));
            }
            sb_str(lua, ")");
        }
        sb_str(lua, "\n");
        p = next;
        line++;
    }
    if (lua->oom) return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: translating the template", origin);
    return INTFA_OK;
}

/* ------------------------------------------------------------------ run */

typedef struct run_ctx {
    size_t mem, mem_limit;
    int mem_exceeded;
    long long hooks;
    double deadline; /* monotonic seconds */
    sbuf out;
    const char *chunk;
    size_t chunk_len;
    const char *chunkname;
    const intfa_tvar *vars;
    size_t nvars;
    int depth; /* include() nesting */
} run_ctx;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    run_ctx *ctx = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        ctx->mem -= old;
        return NULL;
    }
    if (nsize > old && ctx->mem - old + nsize > ctx->mem_limit) {
        ctx->mem_exceeded = 1;
        return NULL;
    }
    void *np = realloc(ptr, nsize);
    if (!np) return NULL;
    ctx->mem = ctx->mem - old + nsize;
    return np;
}

static run_ctx *ctx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    run_ctx *ctx = ctx_of(L);
    const int too_many = ++ctx->hooks * HOOK_EVERY >= limits.instructions;
    if (!too_many && now_seconds() < ctx->deadline) return;
    lua_getinfo(L, "Sl", ar);
    if (too_many && limits.instructions % 1000000 == 0)
        lua_pushfstring(L, "%s:%d: template ran more than %I million Lua instructions (runaway "
                        "loop?)", ar->short_src, ar->currentline,
                        (lua_Integer)(limits.instructions / 1000000));
    else if (too_many)
        lua_pushfstring(L, "%s:%d: template ran more than %I Lua instructions (runaway loop?)",
                        ar->short_src, ar->currentline, (lua_Integer)limits.instructions);
    else
        lua_pushfstring(L, "%s:%d: template ran longer than %d s (runaway loop?)", ar->short_src,
                        ar->currentline, limits.seconds);
    lua_error(L);
}

/* __o(s1, s2, ...): appends strings to the output. */
static int lua_out(lua_State *L)
{
    run_ctx *ctx = ctx_of(L);
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_checklstring(L, i, &len);
        if (len > output_limit() - ctx->out.len)
            return luaL_error(L, "template output exceeds %d MiB", limits.output_mib);
        sb_add(&ctx->out, s, len);
        if (ctx->out.oom) return luaL_error(L, "out of memory for the template output");
    }
    return 0;
}

/* __x(value, text): tostring(value), an error for nil. */
static int lua_tostr(lua_State *L)
{
    if (lua_isnil(L, 1)) return luaL_error(L, "${%s} is nil", luaL_optstring(L, 2, "?"));
    luaL_tolstring(L, 1, NULL);
    return 1;
}

#define INCLUDE_DEPTH_LIMIT 8

/* include("name"): expands another template here, with the same variables and output (for
 * device code that several kernel templates share). Errors name the included file's lines. */
static int lua_include(lua_State *L)
{
    run_ctx *ctx = ctx_of(L);
    const char *name = luaL_checkstring(L, 1);
    if (ctx->depth >= INCLUDE_DEPTH_LIMIT)
        return luaL_error(L, "include(\"%s\"): includes nested more than %d deep", name,
                          INCLUDE_DEPTH_LIMIT);
    char *text = NULL, *origin = NULL;
    size_t size = 0;
    if (intfa_template_load(name, &text, &size, &origin) != INTFA_OK)
        return luaL_error(L, "include(\"%s\"): %s", name, intfa_last_error());
    sbuf lua = {0};
    intfa_status st = translate(text, size, origin, &lua);
    free(text);
    if (st != INTFA_OK || lua.oom) {
        free(lua.p);
        free(origin);
        return luaL_error(L, "%s", st != INTFA_OK ? intfa_last_error() : "out of memory");
    }
    lua_pushfstring(L, "=%s", origin);
    free(origin);
    int rc = luaL_loadbufferx(L, lua.p ? lua.p : "", lua.len, lua_tostring(L, -1), "t");
    free(lua.p);
    if (rc != LUA_OK) return lua_error(L);
    lua_pushcfunction(L, lua_out);
    lua_pushcfunction(L, lua_tostr);
    ctx->depth++;
    lua_call(L, 2, 0);
    ctx->depth--;
    return 0;
}

/* __index of the globals and of v: reading a name that does not exist is an error with the
 * template's file and line (a misspelt or out-of-scope variable would otherwise be nil and
 * silently take the "false" branch of an //% if). */
static int undefined_name(lua_State *L)
{
    const int is_v = lua_toboolean(L, lua_upvalueindex(1));
    luaL_where(L, 1);
    lua_pushfstring(L, is_v ? "v has no field \"%s\"" : "undefined variable \"%s\" (locals of a "
                              "template are not visible in the templates it includes)",
                    luaL_tolstring(L, 2, NULL));
    lua_remove(L, -2);
    lua_concat(L, 2);
    return lua_error(L);
}

/* Gives the table on top of the stack a metatable whose __index is undefined_name. */
static void make_strict(lua_State *L, int is_v)
{
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, is_v);
    lua_pushcclosure(L, undefined_name, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

/* Runs protected: builds the environment, loads and calls the chunk. */
static int run_protected(lua_State *L)
{
    run_ctx *ctx = lua_touserdata(L, 1);
    intfa_template_open_sandbox(L, output_limit());
    lua_createtable(L, 0, (int)ctx->nvars);
    for (size_t i = 0; i < ctx->nvars; i++) {
        const intfa_tvar *t = &ctx->vars[i];
        if (t->type == INTFA_TV_STRING)
            lua_pushstring(L, t->s);
        else if (t->type == INTFA_TV_INT)
            lua_pushinteger(L, (lua_Integer)t->i);
        else
            lua_pushboolean(L, t->i != 0);
        lua_setfield(L, -2, t->name);
    }
    make_strict(L, 1);
    lua_setglobal(L, "v");
    lua_pushcfunction(L, lua_include);
    lua_setglobal(L, "include");
    lua_pushglobaltable(L);
    make_strict(L, 0);
    lua_pop(L, 1);

    if (luaL_loadbufferx(L, ctx->chunk, ctx->chunk_len, ctx->chunkname, "t") != LUA_OK)
        return lua_error(L);
    lua_pushcfunction(L, lua_out);
    lua_pushcfunction(L, lua_tostr);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    lua_call(L, 2, 0);
    lua_sethook(L, NULL, 0, 0);
    return 0;
}

/* Lua shortens chunk names to LUA_IDSIZE - 1 bytes; put the whole origin back in front. */
static intfa_status template_error(const char *origin, const char *msg)
{
    size_t keep = strlen(origin);
    if (keep > LUA_IDSIZE - 1) keep = LUA_IDSIZE - 1;
    if (keep < strlen(origin) && strncmp(msg, origin, keep) == 0 && msg[keep] == ':')
        return intfa_fail(INTFA_ERR_TEMPLATE, "%s%s", origin, msg + keep);
    return intfa_fail(INTFA_ERR_TEMPLATE, "%s", msg);
}

intfa_status intfa_template_expand(const char *text, size_t size, const char *origin,
                                   const intfa_tvar *vars, size_t nvars, char **out)
{
    if (!text) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "template text is NULL");
    if (!origin) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "template origin is NULL");
    if (!out) return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "output pointer is NULL");
    if (!vars && nvars)
        return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "vars is NULL with nvars = %zu", nvars);
    for (size_t i = 0; i < nvars; i++) {
        const intfa_tvar *t = &vars[i];
        if (!t->name || !t->name[0])
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "vars[%zu].name is NULL or empty", i);
        if (t->type != INTFA_TV_STRING && t->type != INTFA_TV_INT && t->type != INTFA_TV_BOOL)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "vars[%zu] (%s): type = %d", i,
                              t->name, (int)t->type);
        if (t->type == INTFA_TV_STRING && !t->s)
            return intfa_fail(INTFA_ERR_INVALID_ARGUMENT, "vars[%zu] (%s): string is NULL", i,
                              t->name);
    }

    sbuf lua = {0};
    intfa_status st = translate(text, size, origin, &lua);
    if (st != INTFA_OK) {
        free(lua.p);
        return st;
    }
    char *chunkname = malloc(strlen(origin) + 2);
    if (!chunkname) {
        free(lua.p);
        return intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: chunk name", origin);
    }
    chunkname[0] = '=';
    strcpy(chunkname + 1, origin);

    run_ctx ctx = {0};
    ctx.mem_limit = (size_t)limits.memory_mib << 20;
    ctx.deadline = now_seconds() + limits.seconds;
    ctx.chunk = lua.p ? lua.p : "";
    ctx.chunk_len = lua.len;
    ctx.chunkname = chunkname;
    ctx.vars = vars;
    ctx.nvars = nvars;
    sb_add(&ctx.out, "", 0); /* an empty template expands to "" */

    lua_State *L = lua_newstate(limited_alloc, &ctx);
    if (!L) {
        st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: cannot create a Lua state", origin);
    } else {
        lua_pushcfunction(L, run_protected);
        lua_pushlightuserdata(L, &ctx);
        int rc = lua_pcall(L, 1, 0, 0);
        if (rc != LUA_OK) {
            const char *msg = lua_tostring(L, -1);
            if (ctx.mem_exceeded)
                st = intfa_fail(INTFA_ERR_TEMPLATE, "%s: template used more than %zu MiB of "
                                "memory (%s)", origin, ctx.mem_limit >> 20, msg ? msg : "");
            else if (rc == LUA_ERRMEM)
                st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: out of memory in Lua", origin);
            else if (!msg)
                st = intfa_fail(INTFA_ERR_TEMPLATE, "%s: template raised a %s as error", origin,
                                luaL_typename(L, -1));
            else
                st = template_error(origin, msg);
        } else if (ctx.out.oom) {
            st = intfa_fail(INTFA_ERR_OUT_OF_MEMORY, "%s: template output", origin);
        }
        lua_close(L);
    }
    free(chunkname);
    free(lua.p);
    if (st != INTFA_OK) {
        free(ctx.out.p);
        return st;
    }
    *out = ctx.out.p;
    return INTFA_OK;
}
