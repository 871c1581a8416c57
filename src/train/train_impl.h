/* Internal: the trainer's buffers (opaque in evsnn/train.h; tests that
 * write a trace by hand include this), the shared forward and backward
 * (src/train/bptt.c) with their dense twins' pieces (src/train/dense.c),
 * and the batched dense trainer (src/train/batched.c). */
#ifndef EVSNN_TRAIN_IMPL_H
#define EVSNN_TRAIN_IMPL_H

#include "evsnn/train.h"

/* Indexing: population m's potentials, f' and Delta at [m-1]; its spike
 * lists, offsets and raster at [m] (0: the input). Rows are ld floats. */
struct evsnn_trainer_s {
  const evsnn_net_t *net;
  uint32_t T;                          /* steps of the trace */
  evsnn_grad_t grad;
  evsnn_engine_t engine;
  float cutoff;                        /* f' = 0 where |u - s| > cutoff; INFINITY: never */
  float *v[EVSNN_MAX_POPS];            /* potentials */
  float *fprime[EVSNN_MAX_POPS];       /* T rows: f'(u - s), spiking populations */
  float *delta[EVSNN_MAX_POPS];        /* T rows: Delta^m[k] */
  uint32_t *spikes[EVSNN_MAX_POPS];    /* concatenated spike lists (not the readout) */
  uint32_t *start[EVSNN_MAX_POPS];     /* T + 1 offsets into spikes[m] */
  float *raster[EVSNN_MAX_POPS];       /* dense engine only: T rows of 0/1 spikes */
  float *g;                            /* T rows of the widest population: dL/db */
  float *gq;                           /* T rows of the widest projection input: one projection's W^T Delta */
  uint32_t *lists, *lists_start;       /* a projection's presynaptic lists in its input space, T + 1 offsets */
  uint32_t *sort;                      /* counting-sort scratch of the weight gradients */
  float *scratch;                      /* the dense twins' scratch */
  float *dW;                           /* gradient, same layout as net->params */
  evsnn_counts_t counts;
  void *mem;
  struct evsnn__batch_s *batch;        /* EVSNN_ENGINE_DENSE_BATCH: the share's buffers */
};

/* The backward pass over the recorded trace, once the readout's Delta is
 * in place; the event or the dense twin of every projection operation,
 * as tr->engine says. */
void evsnn__backward(evsnn_trainer_t *tr);
/* The dense trainer's forward (src/train/dense.c). */
void evsnn__dense_forward(evsnn_trainer_t *tr, const evsnn_input_t *in);

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
