/* What every dataset shares, whatever it was loaded from: trimming,
 * freeing, and handing one sample's input to an engine or the trainer. */
#include <stdlib.h>
#include <string.h>

#include "evsnn/dataset.h"

void evsnn_dataset_input(const evsnn_dataset_t *d, uint32_t i, evsnn_poisson_t *enc, evsnn_rng_t *rng,
                         evsnn_input_t *in) {
  if (d->pixels) {
    evsnn_poisson_set_image(enc, d->pixels + (size_t)i * d->rows * d->cols);
    *in = (evsnn_input_t){.enc = enc, .rng = rng};
  } else {
    *in = (evsnn_input_t){.trace = d->spikes, .start = d->start + (size_t)i * d->steps, .steps = d->steps};
  }
}

void evsnn_dataset_limit(evsnn_dataset_t *d, uint32_t n) {
  if (d && n < d->n) d->n = n;
}

void evsnn_dataset_free(evsnn_dataset_t *d) {
  if (!d) return;
  free(d->pixels);
  free(d->labels);
  free(d->spikes);
  free(d->start);
  memset(d, 0, sizeof *d);
}
