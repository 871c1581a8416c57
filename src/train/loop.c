/* The training and test loops: shuffling, mini-batches split across
 * workers, gradient reduction in worker order, Adam steps. Every random
 * draw comes from a stream named by (seed, sample), so a seed and a worker
 * count fix every bit of the result. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/dataset.h"
#include "evsnn/train.h"
#include "train/train_impl.h"

/* One worker's share of the current batch. */
typedef struct {
  evsnn_trainer_t *tr;
  evsnn_poisson_t enc;
  uint8_t *moved; /* the shifted image, when augmenting */
  uint32_t begin, end, correct;
  double loss;
  int err;
} share_t;

typedef struct {
  share_t *shares;
  uint32_t n_shares;
  const evsnn_dataset_t *d;
  const uint32_t *order;
  const evsnn_epoch_t *ep;
  float scale;
  evsnn_adam_t *opt;
  float *params;
} batch_t;

/* dst = src moved by (dx, dy) pixels, zeros shifted in. */
static void shift_image(uint8_t *dst, const uint8_t *src, uint32_t rows, uint32_t cols, int dx, int dy) {
  for (uint32_t y = 0; y < rows; y++)
    for (uint32_t x = 0; x < cols; x++) {
      int sx = (int)x - dx, sy = (int)y - dy;
      dst[y * cols + x] = sx >= 0 && sy >= 0 && sx < (int)cols && sy < (int)rows ? src[sy * cols + sx] : 0;
    }
}

static void run_share(void *ctx, uint32_t w) {
  batch_t *b = ctx;
  share_t *sh = &b->shares[w];
  const evsnn_dataset_t *d = b->d;
  memset(sh->tr->dW, 0, sizeof(float) * sh->tr->net->n_params);
  sh->loss = 0;
  sh->correct = 0;
  /* The batched trainer takes the share's inputs first, then runs them all. */
  int batched = sh->tr->engine == EVSNN_ENGINE_DENSE_BATCH;
  if (batched && (sh->err = evsnn__batch_reserve(sh->tr, sh->end - sh->begin))) return;
  for (uint32_t s = sh->begin; s < sh->end; s++) {
    uint32_t i = b->order[s], pred;
    evsnn_rng_t rng;
    evsnn_input_t in;
    evsnn_rng_init(&rng, b->ep->seed, (uint64_t)b->ep->epoch * d->n + i);
    evsnn_dataset_input(d, i, &sh->enc, &rng, &in);
    if (sh->moved) {
      uint32_t span = 2 * b->ep->shift + 1;
      int dx = (int)evsnn_rng_below(&rng, span) - (int)b->ep->shift, dy = (int)evsnn_rng_below(&rng, span) - (int)b->ep->shift;
      shift_image(sh->moved, d->pixels + (size_t)i * d->rows * d->cols, d->rows, d->cols, dx, dy);
      evsnn_poisson_set_image(&sh->enc, sh->moved);
    }
    if (batched) {
      evsnn__batch_add(sh->tr, &in, d->labels[i]);
      continue;
    }
    sh->loss += evsnn_trainer_sample(sh->tr, &in, d->labels[i], b->scale, &pred);
    sh->correct += pred == d->labels[i];
  }
  if (batched) sh->loss = evsnn__batch_run(sh->tr, b->scale, &sh->correct);
}

/* After a batch: worker w sums its slice of every share's dW in worker
 * order (so the sum does not depend on the slicing or on timing) and takes
 * the Adam step on that slice. Slices are whole 16-float blocks. */
static void reduce_update(void *ctx, uint32_t w) {
  batch_t *b = ctx;
  size_t n = b->opt->n, blocks = n / 16, n_w = b->n_shares;
  size_t begin = blocks * w / n_w * 16, end = w + 1 == n_w ? n : blocks * (w + 1) / n_w * 16;
  float *dW = b->shares[0].tr->dW;
  for (uint32_t s = 1; s < n_w; s++) {
    const float *g = b->shares[s].tr->dW;
    for (size_t p = begin; p < end; p++) dW[p] += g[p];
  }
  evsnn_adam_update(b->opt, b->params, dW, begin, end);
}

static void free_shares(share_t *shares, uint32_t n) {
  for (uint32_t w = 0; shares && w < n; w++) {
    evsnn_poisson_free(&shares[w].enc);
    free(shares[w].moved);
  }
  free(shares);
}

int evsnn_train_epoch(evsnn_trainer_t *const *tr, uint32_t n_tr, evsnn_parallel_t *par, evsnn_adam_t *opt,
                      evsnn_net_t *net, const evsnn_dataset_t *d, evsnn_epoch_t *ep) {
  size_t px = (size_t)d->rows * d->cols;
  if (px != evsnn_net_inputs(net))
    return evsnn__fail(EVSNN_EINVAL, "training data: %zu inputs per sample, network takes %u", px, evsnn_net_inputs(net));
  if (ep->batch < 1 || n_tr < 1 || (par && par->n_workers != n_tr))
    return evsnn__fail(EVSNN_EINVAL, "training: batch %u, %u trainers for %u workers", ep->batch, n_tr,
                       par ? par->n_workers : n_tr);
  if (ep->done % ep->batch || ep->done > d->n)
    return evsnn__fail(EVSNN_EINVAL, "training: resuming at sample %u of %u, not a batch boundary (batch %u)",
                       ep->done, d->n, ep->batch);
  if (ep->shift && !d->pixels)
    return evsnn__fail(EVSNN_EINVAL, "training: shift augmentation needs images, not binned events");
  uint32_t *order = malloc(sizeof(uint32_t) * (d->n ? d->n : 1));
  share_t *shares = calloc(n_tr, sizeof *shares);
  int err = order && shares ? 0 : EVSNN_ENOMEM;
  for (uint32_t w = 0; w < n_tr && !err; w++) {
    shares[w].tr = tr[w];
    err = evsnn_poisson_init(&shares[w].enc, evsnn_net_inputs(net));
    if (!err && ep->shift && !(shares[w].moved = malloc(px))) err = EVSNN_ENOMEM;
  }
  if (err) {
    free_shares(shares, n_tr);
    free(order);
    return evsnn__fail(EVSNN_ENOMEM, "training epoch");
  }
  /* Fisher-Yates shuffle from the epoch's own stream. */
  evsnn_rng_t shuffle;
  evsnn_rng_init(&shuffle, ep->seed, 0x5348554646000000ull + ep->epoch);
  for (uint32_t i = 0; i < d->n; i++) order[i] = i;
  for (uint32_t i = d->n; i > 1; i--) {
    uint32_t j = evsnn_rng_below(&shuffle, i), t = order[i - 1];
    order[i - 1] = order[j], order[j] = t;
  }
  batch_t b = {shares, n_tr, d, order, ep, 0.0f, opt, net->params};
  for (uint32_t b0 = ep->done; b0 < d->n && !err; b0 += ep->batch) {
    uint32_t b1 = b0 + ep->batch < d->n ? b0 + ep->batch : d->n;
    b.scale = 1.0f / (float)(b1 - b0);
    if (ep->schedule) opt->lr = evsnn_lr_at(ep->schedule, ep->epoch + (double)b0 / d->n);
    for (uint32_t w = 0; w < n_tr; w++) {
      shares[w].begin = b0 + (uint32_t)((uint64_t)(b1 - b0) * w / n_tr);
      shares[w].end = b0 + (uint32_t)((uint64_t)(b1 - b0) * (w + 1) / n_tr);
    }
    if (par)
      par->run(par, run_share, &b);
    else
      for (uint32_t w = 0; w < n_tr; w++) run_share(&b, w);
    for (uint32_t w = 0; w < n_tr && !err; w++) err = shares[w].err;
    if (err) break;
    for (uint32_t w = 0; w < n_tr; w++) ep->loss_sum += shares[w].loss, ep->correct += shares[w].correct;
    evsnn_adam_next(opt);
    if (par)
      par->run(par, reduce_update, &b);
    else
      for (uint32_t w = 0; w < n_tr; w++) reduce_update(&b, w);
    ep->done = b1;
    if (ep->progress && ep->progress(ep->arg, ep, d->n) && b1 < d->n)
      err = evsnn__fail(EVSNN_ECANCELED, "training stopped after sample %u of %u of epoch %u", b1, d->n, ep->epoch + 1);
  }
  free_shares(shares, n_tr);
  free(order);
  return err;
}

int evsnn_test_accuracy(const evsnn_net_t *net, const evsnn_dataset_t *d, const evsnn_test_t *t, double *acc) {
  size_t px = (size_t)d->rows * d->cols;
  if (px != evsnn_net_inputs(net))
    return evsnn__fail(EVSNN_EINVAL, "test data: %zu inputs per sample, network takes %u", px, evsnn_net_inputs(net));
  uint32_t T = t->T;
  double *anytime = t->anytime;
  int dense_engine = t->engine != EVSNN_ENGINE_EVENT; /* the batched trainer tests sample by sample */
  if (t->on_step && dense_engine)
    return evsnn__fail(EVSNN_EINVAL, "test: a per-step observer needs the event engine");
  evsnn_state_t st = {0};
  evsnn_dense_t dense = {0};
  evsnn_poisson_t enc;
  /* The dense engine takes its input as a list too. */
  uint32_t *list = dense_engine ? malloc(sizeof(uint32_t) * evsnn_net_inputs(net)) : NULL;
  int err = dense_engine ? (list ? evsnn_dense_init(&dense, net) : EVSNN_ENOMEM)
                                            : evsnn_state_init(&st, net);
  if (!err && (err = evsnn_poisson_init(&enc, evsnn_net_inputs(net)))) {
    evsnn_state_free(&st);
    evsnn_dense_free(&dense);
  }
  if (err) {
    free(list);
    return err == EVSNN_ENOMEM ? evsnn__fail(err, "test engine state") : err;
  }
  uint32_t correct = 0;
  if (anytime)
    for (uint32_t k = 0; k < T; k++) anytime[k] = 0;
  for (uint32_t i = 0; i < d->n; i++) {
    evsnn_rng_t rng;
    evsnn_input_t in;
    evsnn_rng_init(&rng, t->seed, i);
    evsnn_dataset_input(d, i, &enc, &rng, &in);
    /* The decision is read after every step (for the anytime curve and the
     * observer); the input is written straight into the engine's input
     * spike list. */
    uint32_t pred = 0;
    if (dense_engine) {
      evsnn_dense_reset(&dense);
      for (uint32_t k = 0; k < T; k++) {
        evsnn_dense_step(&dense, list, evsnn_input_step(&in, k, list));
        pred = evsnn_dense_decision(&dense);
        if (anytime) anytime[k] += pred == d->labels[i];
      }
    } else if (!anytime && !t->on_step) {
      pred = evsnn_state_classify(&st, &in, T);
    } else {
      evsnn_state_reset(&st);
      for (uint32_t k = 0; k < T; k++) {
        evsnn_state_step(&st, st.spikes[0], evsnn_input_step(&in, k, st.spikes[0]));
        if (t->on_step) t->on_step(t->ud, i, k, &st);
        pred = evsnn_state_decision(&st);
        if (anytime) anytime[k] += pred == d->labels[i];
      }
    }
    correct += pred == d->labels[i];
  }
  if (anytime)
    for (uint32_t k = 0; k < T; k++) anytime[k] = d->n ? anytime[k] / d->n : 0;
  *acc = d->n ? (double)correct / d->n : 0;
  if (t->counts) *t->counts = dense_engine ? dense.counts : st.counts;
  evsnn_state_free(&st);
  evsnn_dense_free(&dense);
  evsnn_poisson_free(&enc);
  free(list);
  return 0;
}
