/* evsnn/encode.h: Poisson (Bernoulli) rate encoding of images, as in the
 * paper: at every step, input j spikes when its intensity p_j in [0, 1]
 * exceeds a fresh uniform random number. Only inputs with p_j > 0 can ever
 * spike, so only those draw random numbers: the encoder is sparse too.
 */
#ifndef EVSNN_ENCODE_H
#define EVSNN_ENCODE_H

#include <stdint.h>

#include "evsnn/rng.h"

typedef struct evsnn_poisson_s {
  uint32_t n;        /* inputs */
  uint32_t n_active; /* inputs with non-zero intensity in the current image */
  uint32_t *active;  /* their indices, ascending */
  float *p;          /* their intensities */
} evsnn_poisson_t;

int evsnn_poisson_init(evsnn_poisson_t *enc, uint32_t n_inputs);
void evsnn_poisson_free(evsnn_poisson_t *enc);
/* Loads an image of n 8-bit pixels, intensity = pixel / 255. */
void evsnn_poisson_set_image(evsnn_poisson_t *enc, const uint8_t *pixels);
/* Draws one step: writes the indices of the spiking inputs (ascending) to
 * out (room for n) and returns their number. */
uint32_t evsnn_poisson_step(const evsnn_poisson_t *enc, evsnn_rng_t *rng, uint32_t *out);

#endif
