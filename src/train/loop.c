/* The training and test loops: shuffling, mini-batches, Adam steps. One
 * thread; every random draw comes from a stream named by (seed, sample), so
 * a seed fixes every bit of the result. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/dataset.h"
#include "evsnn/train.h"

int evsnn_train_epoch(evsnn_trainer_t *tr, evsnn_adam_t *opt, evsnn_net_t *net, const evsnn_dataset_t *d,
                      uint32_t batch, uint64_t seed, uint32_t epoch, double *loss, double *acc,
                      evsnn_progress_cb progress, void *arg) {
  size_t px = (size_t)d->rows * d->cols;
  if (px != net->sizes[0])
    return evsnn__fail(EVSNN_EINVAL, "training data: %zu pixels per image, network takes %u", px, net->sizes[0]);
  if (batch < 1) return evsnn__fail(EVSNN_EINVAL, "batch size 0");
  uint32_t *order = malloc(sizeof(uint32_t) * (d->n ? d->n : 1));
  evsnn_poisson_t enc;
  int err = evsnn_poisson_init(&enc, net->sizes[0]);
  if (!order || err) {
    free(order);
    evsnn_poisson_free(&enc);
    return evsnn__fail(EVSNN_ENOMEM, "training epoch");
  }
  /* Fisher-Yates shuffle from the epoch's own stream. */
  evsnn_rng_t shuffle;
  evsnn_rng_init(&shuffle, seed, 0x5348554646000000ull + epoch);
  for (uint32_t i = 0; i < d->n; i++) order[i] = i;
  for (uint32_t i = d->n; i > 1; i--) {
    uint32_t j = evsnn_rng_below(&shuffle, i), t = order[i - 1];
    order[i - 1] = order[j], order[j] = t;
  }
  double sum_loss = 0;
  uint32_t correct = 0;
  for (uint32_t b0 = 0; b0 < d->n; b0 += batch) {
    uint32_t b1 = b0 + batch < d->n ? b0 + batch : d->n;
    memset(tr->dW, 0, sizeof(float) * net->n_params);
    for (uint32_t s = b0; s < b1; s++) {
      uint32_t i = order[s], pred;
      evsnn_rng_t rng;
      evsnn_rng_init(&rng, seed, (uint64_t)epoch * d->n + i);
      evsnn_poisson_set_image(&enc, d->pixels + i * px);
      sum_loss += evsnn_trainer_sample(tr, &enc, &rng, d->labels[i], 1.0f / (float)(b1 - b0), &pred);
      correct += pred == d->labels[i];
    }
    evsnn_adam_step(opt, net->params, tr->dW);
    if (progress) progress(arg, b1, d->n, sum_loss / b1, (double)correct / b1);
  }
  *loss = d->n ? sum_loss / d->n : 0;
  *acc = d->n ? (double)correct / d->n : 0;
  free(order);
  evsnn_poisson_free(&enc);
  return 0;
}

int evsnn_test_accuracy(const evsnn_net_t *net, const evsnn_dataset_t *d, uint32_t T, uint64_t seed, double *acc,
                        evsnn_counts_t *counts) {
  size_t px = (size_t)d->rows * d->cols;
  if (px != net->sizes[0])
    return evsnn__fail(EVSNN_EINVAL, "test data: %zu pixels per image, network takes %u", px, net->sizes[0]);
  evsnn_state_t st;
  evsnn_poisson_t enc;
  int err = evsnn_state_init(&st, net);
  if (err) return err;
  if ((err = evsnn_poisson_init(&enc, net->sizes[0]))) {
    evsnn_state_free(&st);
    return err;
  }
  uint32_t correct = 0;
  for (uint32_t i = 0; i < d->n; i++) {
    evsnn_rng_t rng;
    evsnn_rng_init(&rng, seed, i);
    evsnn_poisson_set_image(&enc, d->pixels + i * px);
    correct += evsnn_state_classify(&st, &enc, &rng, T) == d->labels[i];
  }
  *acc = d->n ? (double)correct / d->n : 0;
  if (counts) *counts = st.counts;
  evsnn_state_free(&st);
  evsnn_poisson_free(&enc);
  return 0;
}
