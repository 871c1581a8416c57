/* evsnn/train.h: backpropagation through time over sparse traces.
 *
 * The forward pass of a training sample records only what the backward
 * pass needs: per population and step, the spike index list and the
 * surrogate derivative f'(u - s) = exp(-|u - s|) of the pre-reset
 * potential u. The backward pass then walks the populations from the
 * readout back to the input:
 *   Delta^M[k] = beta^(T-1-k) (P - onehot(d))          readout (LI), exact
 *   g^m[k]     = sum over projections m -> t of W^T Delta^t[k]   dL/db^m[k]
 *              + W_rec^T Delta^m[k+1]                  a recurrent projection
 *   Delta^m[k] = f'(u^m[k] - s) g^m[k]                 (8), mode PAPER
 *              + beta (1 - b^m[k]) Delta^m[k+1]        mode BPTT adds this
 *                (beta Delta^m[k+1] when the reset subtracts)
 *   dW        += Delta^t[k] (b^src[k])^T               (7), over spikes only
 * where W^T Delta and dW are each projection's own (dense, conv, pool:
 * src/net/proj.h), through its pooling. The reset's own derivative is not
 * propagated (the reset is treated as a constant gate), which is the usual
 * choice and keeps Delta sparse-friendly. The input needs no Delta.
 */
#ifndef EVSNN_TRAIN_H
#define EVSNN_TRAIN_H

#include <stdint.h>

#include "evsnn/engine.h"
#include "evsnn/net.h"

typedef enum { EVSNN_GRAD_BPTT = 0, EVSNN_GRAD_PAPER = 1 } evsnn_grad_t;

/* Per-worker buffers for one sample's trace and backward pass, sized once
 * for a network and a maximum number of steps; opaque (src/train/train_impl.h). */
typedef struct evsnn_trainer_s evsnn_trainer_t;

/* engine EVSNN_ENGINE_DENSE runs the same equations on dense rasters with
 * CBLAS (src/train/dense.c): the reference and the baseline;
 * EVSNN_ENGINE_DENSE_BATCH (src/train/batched.c) a whole share at once,
 * for fully connected chains. The net must outlive the trainer; its
 * readout must be LI. On failure *out is NULL. */
int evsnn_trainer_new(evsnn_trainer_t **out, const evsnn_net_t *net, uint32_t T, evsnn_grad_t grad,
                      evsnn_engine_t engine);
/* Frees; accepts NULL. */
void evsnn_trainer_free(evsnn_trainer_t *tr);
/* f' = 0 where |u - s| > cutoff (INFINITY, the default: never). */
void evsnn_trainer_set_cutoff(evsnn_trainer_t *tr, float cutoff);
/* The gradient the samples add to, in the layout of net->params. */
float *evsnn_trainer_grad(evsnn_trainer_t *tr);
/* The sparsity counters of every sample run so far. */
const evsnn_counts_t *evsnn_trainer_counts(const evsnn_trainer_t *tr);
/* The last sample's trace: population m's spikes at step k (m = 0: the
 * input), and for a spiking population its f'(u - s) at step k (ld floats). */
const uint32_t *evsnn_trainer_spikes(const evsnn_trainer_t *tr, uint32_t m, uint32_t k, uint32_t *n);
const float *evsnn_trainer_fprime(const evsnn_trainer_t *tr, uint32_t m, uint32_t k);
/* Forward over T steps of the input in, recording the trace; then
 * backward, adding scale * dL/dW to the gradient. Returns the sample's
 * cross-entropy loss; *pred gets the predicted class. */
float evsnn_trainer_sample(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label, float scale,
                           uint32_t *pred);

/* Adam (Kingma and Ba), one moment pair per parameter, same layout. */
typedef struct evsnn_adam_s {
  float lr, beta1, beta2, eps;
  uint64_t t;
  float *m, *v;
  size_t n;
  float step_, eps_; /* private: the current step's bias-corrected lr and eps */
} evsnn_adam_t;

int evsnn_adam_init(evsnn_adam_t *opt, size_t n, float lr);
void evsnn_adam_free(evsnn_adam_t *opt);
/* One step: params -= lr * mhat / (sqrt(vhat) + eps). */
void evsnn_adam_step(evsnn_adam_t *opt, float *params, const float *grad);
/* The same step in slices, for callers that split the parameters across
 * workers: evsnn_adam_next once, then evsnn_adam_update over disjoint
 * ranges covering [0, n). Elementwise, so the split changes no bit. */
void evsnn_adam_next(evsnn_adam_t *opt);
void evsnn_adam_update(const evsnn_adam_t *opt, float *params, const float *grad, size_t begin, size_t end);

/* Learning-rate schedules, as a function of the training progress t in
 * epochs (t = epoch + samples done / samples per epoch, taken before each
 * batch):
 *   CONST          lr
 *   COSINE         lr (1 + cos(pi e / epochs)) / 2, held for the whole of
 *                  epoch e = floor(t) (the runs of docs/experiments.md)
 *   WARMUP_COSINE  lr rising linearly to peak over the first warmup
 *                  epochs (0 < warmup < epochs, need not be whole), then
 *                  peak (1 + cos(pi (t - warmup) / (epochs - warmup))) / 2
 *                  down to zero, both per batch */
typedef enum { EVSNN_LR_CONST = 0, EVSNN_LR_COSINE = 1, EVSNN_LR_WARMUP_COSINE = 2 } evsnn_lr_shape_t;
typedef struct evsnn_lr_schedule_s {
  evsnn_lr_shape_t shape;
  double lr, peak, warmup;
  uint32_t epochs;
} evsnn_lr_schedule_t;

float evsnn_lr_at(const evsnn_lr_schedule_t *s, double t);

/* Runs job(ctx, w) for w in [0, n_workers) and returns when all are done,
 * concurrently or not. The library has no threads of its own: the CLI
 * passes one backed by libuv's thread pool; NULL runs the jobs in turn. */
typedef struct evsnn_parallel_s {
  void (*run)(struct evsnn_parallel_s *par, void (*job)(void *ctx, uint32_t w), void *ctx);
  uint32_t n_workers;
} evsnn_parallel_t;

/* One epoch's settings and running totals. */
typedef struct evsnn_epoch_s {
  uint32_t epoch; /* 0-based; picks the shuffle and the input streams */
  uint32_t batch;
  uint64_t seed;
  uint32_t shift; /* augmentation: images moved by up to +-shift pixels (0: off) */
  const evsnn_lr_schedule_t *schedule; /* if non-NULL: sets opt->lr before every batch */
  /* Running totals over the samples done so far in this epoch. Zero to
   * start an epoch; restored from a checkpoint, training resumes at sample
   * `done` (a multiple of batch) bit for bit as if it had never stopped. */
  uint32_t done, correct;
  double loss_sum;
  /* Called after every batch if non-NULL; a non-zero return stops the
   * epoch there, after the batch's update (evsnn_train_epoch then returns
   * EVSNN_ECANCELED with consistent totals). */
  int (*progress)(void *arg, const struct evsnn_epoch_s *ep, uint32_t total);
  void *arg;
} evsnn_epoch_t;

/* One epoch of mini-batch training over d, from sample ep->done on.
 * Samples come in a seeded order that depends on seed and epoch; each
 * sample's random draws (shift, then input spikes) come from stream
 * (seed, epoch * d->n + index). Each batch is split into contiguous shares,
 * one per trainer tr[0..n_tr-1] (each with its own dW); the shares'
 * gradients are summed in worker order, so a seed and a worker count fix
 * every bit. */
typedef struct evsnn_dataset_s evsnn_dataset_t;
int evsnn_train_epoch(evsnn_trainer_t *const *tr, uint32_t n_tr, evsnn_parallel_t *par, evsnn_adam_t *opt,
                      evsnn_net_t *net, const evsnn_dataset_t *d, evsnn_epoch_t *ep);
/* A test pass: T steps per sample, sample i's input drawn from stream
 * (seed, i), run by the event engine or the dense reference (the same
 * spikes, so the same decisions up to float ties). */
typedef struct evsnn_test_s {
  uint32_t T;
  uint64_t seed;
  evsnn_engine_t engine;
  evsnn_counts_t *counts; /* if non-NULL: the sparsity counters */
  double *anytime;        /* if non-NULL: T accuracies, deciding (argmax of the
                             output potentials) after 1, 2, ..., T steps */
  /* If non-NULL (event engine only): called after step k of sample i with
   * the engine's state, whose spike lists hold that step's spikes. */
  void (*on_step)(void *ud, uint32_t i, uint32_t k, const evsnn_state_t *st);
  void *ud;
} evsnn_test_t;

/* Runs the test pass t over d; *acc gets the accuracy deciding after T steps. */
int evsnn_test_accuracy(const evsnn_net_t *net, const evsnn_dataset_t *d, const evsnn_test_t *t, double *acc);

#endif
