/* launch.h - one kernel launch on a context's stream, raising the shared-memory limit of the
 * function when a launch needs more than the default 48 KB. ctx must be entered. */
#ifndef INTFA_LAUNCH_H
#define INTFA_LAUNCH_H

#include "context.h"

intfa_status intfa_launch(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                          unsigned gy, unsigned gz, unsigned threads, unsigned smem_bytes,
                          void *stream, void *params);

/* The same, for a kernel that depends on the one launched before it on the stream: on sm_90
 * (programmatic dependent launch) it may start once every block of that one has started or
 * executed griddepcontrol.launch_dependents, and must wait for its results itself
 * (griddepcontrol.wait, or flags the other kernel sets); elsewhere a plain launch. */
intfa_status intfa_launch_dependent(intfa_context *ctx, CUfunction fn, const char *what, unsigned gx,
                                    unsigned gy, unsigned gz, unsigned threads, unsigned smem_bytes,
                                    void *stream, void *params);

#endif
