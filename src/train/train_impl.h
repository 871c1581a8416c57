/* Internal: the dense trainer's forward and backward (src/train/dense.c),
 * which evsnn_trainer_sample calls instead of the event ones when the
 * trainer was made with EVSNN_ENGINE_DENSE. */
#ifndef EVSNN_TRAIN_IMPL_H
#define EVSNN_TRAIN_IMPL_H

#include "evsnn/train.h"

void evsnn__dense_forward(evsnn_trainer_t *tr, const evsnn_input_t *in);
void evsnn__dense_backward(evsnn_trainer_t *tr);

/* The batched dense trainer (src/train/batched.c): reserve room for n
 * samples (allocating only when the share grows), add them one by one (their
 * input drawn now, in order), then run forward and backward on all of them:
 * adds scale * dL/dW to tr->dW, counts the right decisions, returns the
 * summed loss. */
typedef struct evsnn__batch_s evsnn__batch_t;
int evsnn__batch_reserve(evsnn_trainer_t *tr, uint32_t n);
void evsnn__batch_add(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label);
float evsnn__batch_run(evsnn_trainer_t *tr, float scale, uint32_t *correct);
void evsnn__batch_free(evsnn_trainer_t *tr);

/* The softmax cross-entropy on the output potentials u (10-12): writes
 * Delta^M[k] = beta^(T-1-k) scale (P - onehot(label)) for k < T at delta +
 * k * stride, *pred the argmax; returns the loss. */
float evsnn__output_delta(const float *u, uint32_t n_out, uint32_t label, float scale, float beta, uint32_t T,
                          float *delta, size_t stride, uint32_t *pred);

#endif
