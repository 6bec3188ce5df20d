/* template_sandbox.c - the library a template may call (template_sandbox.h). */
#include <lauxlib.h>
#include <lualib.h>

#include "template_sandbox.h"

/* string.rep(s, n [, sep]) with the result bounded (upvalue 1: the bound in bytes, upvalue 2:
 * the library's rep). */
static int bounded_rep(lua_State *L)
{
    size_t len, sep_len = 0;
    luaL_checklstring(L, 1, &len);
    const lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &sep_len);
    const lua_Integer max = lua_tointeger(L, lua_upvalueindex(1));
    if (n <= 0 || len + sep_len == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    /* n * len + (n - 1) * sep_len <= max, without overflow */
    const lua_Integer unit = (lua_Integer)(len + sep_len);
    if (n > (max + (lua_Integer)sep_len) / unit)
        return luaL_error(L, "string.rep: the result would exceed %I bytes", max);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Sets field `name` of the table at index t to nil. */
static void remove_field(lua_State *L, int t, const char *name)
{
    lua_pushnil(L);
    lua_setfield(L, t, name);
}

void intfa_template_open_sandbox(lua_State *L, size_t max_result)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    const int base = lua_absindex(L, -4), string = base + 1, table = base + 3;
    static const char *const base_removed[] = {"dofile", "loadfile", "load", "print", "pcall",
                                               "xpcall", "setmetatable", "collectgarbage", NULL};
    static const char *const string_removed[] = {"find", "match", "gmatch", "gsub", NULL};
    static const char *const table_removed[] = {"move", "insert", "remove", "sort", NULL};
    for (int i = 0; base_removed[i]; i++) remove_field(L, base, base_removed[i]);
    for (int i = 0; string_removed[i]; i++) remove_field(L, string, string_removed[i]);
    for (int i = 0; table_removed[i]; i++) remove_field(L, table, table_removed[i]);
    lua_pushinteger(L, (lua_Integer)max_result);
    lua_getfield(L, string, "rep");
    lua_pushcclosure(L, bounded_rep, 2);
    lua_setfield(L, string, "rep");
    lua_settop(L, base - 1);
}
