/* fake_cuda.h - a made-up CUDA driver (libintfa-fake-cuda.so) for host tests that need a
 * context without a GPU: $INTFA_LIBCUDA names it, intfa opens it as it opens libcuda.
 * One device, compute capability 8.0 (sm_80), 108 SMs. Modules are accepted only for ELF
 * images (cubins); launches do nothing but check that their function belongs to a loaded
 * module and their stream to a created one, and count. Memory is host memory. Everything
 * is thread-safe; the counters tell a test what the library did. */
#ifndef INTFA_FAKE_CUDA_H
#define INTFA_FAKE_CUDA_H

typedef struct fake_cuda_stats {
    long modules_loaded;   /* cuModuleLoadData calls that succeeded */
    long modules_unloaded;
    long launches;         /* cuLaunchKernel calls that passed the checks */
    long bad_calls;        /* calls that broke the driver's rules (a foreign function or
                              stream, no kernel parameters, a pop without a push, a non-ELF
                              module, a double free) */
    long pushes, pops;
    long memsets;          /* cuMemsetD32Async calls */
} fake_cuda_stats;

/* The counters so far (resolve it with dlsym from the same library). */
void fake_cuda_get_stats(fake_cuda_stats *out);
/* From now on cuStreamIsCapturing reports every stream as capturing (1) or not (0, the start). */
void fake_cuda_set_capturing(int capturing);

#endif
