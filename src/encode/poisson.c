/* Poisson rate encoding (the paper's section 5): one uniform draw per
 * active pixel per step, none for black pixels. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/encode.h"

int evsnn_poisson_init(evsnn_poisson_t *enc, uint32_t n_inputs) {
  memset(enc, 0, sizeof *enc);
  enc->active = malloc(sizeof(uint32_t) * (n_inputs ? n_inputs : 1));
  enc->p = malloc(sizeof(float) * (n_inputs ? n_inputs : 1));
  if (!enc->active || !enc->p) {
    evsnn_poisson_free(enc);
    return evsnn__fail(EVSNN_ENOMEM, "poisson encoder: %u inputs", n_inputs);
  }
  enc->n = n_inputs;
  return 0;
}

void evsnn_poisson_free(evsnn_poisson_t *enc) {
  free(enc->active);
  free(enc->p);
  memset(enc, 0, sizeof *enc);
}

void evsnn_poisson_set_image(evsnn_poisson_t *enc, const uint8_t *pixels) {
  uint32_t k = 0;
  for (uint32_t j = 0; j < enc->n; j++)
    if (pixels[j]) {
      enc->active[k] = j;
      enc->p[k++] = (float)pixels[j] / 255.0f;
    }
  enc->n_active = k;
}

uint32_t evsnn_poisson_step(const evsnn_poisson_t *enc, evsnn_rng_t *rng, uint32_t *out) {
  uint32_t n = 0;
  for (uint32_t k = 0; k < enc->n_active; k++)
    if (enc->p[k] > evsnn_rng_uniform(rng)) out[n++] = enc->active[k];
  return n;
}

uint32_t evsnn_input_step(const evsnn_input_t *in, uint32_t k, uint32_t *out) {
  if (!in->trace) return evsnn_poisson_step(in->enc, in->rng, out);
  if (k >= in->steps) return 0;
  uint32_t n = (uint32_t)(in->start[k + 1] - in->start[k]);
  memcpy(out, in->trace + in->start[k], sizeof(uint32_t) * n);
  return n;
}
