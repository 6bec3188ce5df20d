/* tune_device_key.h - the tuning database key of a context's device: GPU name, SM count,
 * compute capability, driver version (cuDriverGetVersion), NVRTC version, library version. */
#ifndef INTFA_TUNE_DEVICE_KEY_H
#define INTFA_TUNE_DEVICE_KEY_H

#include "context.h"
#include "tune_db.h"

intfa_status intfa_tune_device_key(intfa_context *ctx, intfa_tune_key *key);

#endif
