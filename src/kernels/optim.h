/* The optimizers' in-place update loops (Keras 3's SGD, Adam/AdamW, RMSprop, Adagrad, Adamax,
 * Nadam, Lion), one element at a time in the order Keras' ops run, vectorised and split
 * across threads. Each element's arithmetic is independent of every other's, so the result
 * does not depend on the vector width or on where a thread boundary falls. */
#ifndef GT_KERNELS_OPTIM_H
#define GT_KERNELS_OPTIM_H

#include "core/internal.h"

/* Runs validated updates (gt_apply_updates); above a size threshold every thread takes its
 * share of every job. */
void gt__opt_apply(const gt_update *jobs, int njobs);

#endif
