/* template_sandbox.h - the Lua library a template may call (template.c): base, string, math
 * and table, less every function whose running time the instruction limit does not bound
 * (it counts Lua instructions, so work done inside one C function is invisible to it) or
 * that reaches outside the expansion. */
#ifndef INTFA_TEMPLATE_SANDBOX_H
#define INTFA_TEMPLATE_SANDBOX_H

#include <stddef.h>

#include <lua.h>

/* Opens the libraries into L's globals and removes or replaces:
 *   - dofile, loadfile, load, print: files, loading code, printing;
 *   - pcall, xpcall: would swallow the limits' errors;
 *   - setmetatable, collectgarbage: finalizers and metamethods (__gc, __len, __index) run
 *     where the limits do not look (a finalizer at lua_close, C loops over a made-up
 *     length), and a full collection costs the whole heap per call;
 *   - string.find, match, gmatch, gsub: pattern matching backtracks in C without bound;
 *   - table.move, insert, remove, sort: C loops over lengths up to the whole heap;
 *   - string.rep: replaced by one that refuses results over max_result bytes (the output
 *     limit) and returns "" at once for an empty string and separator (the library's loops
 *     n times even then).
 * Templates use string.format and table.concat. */
void intfa_template_open_sandbox(lua_State *L, size_t max_result);

#endif
