/* evsnn/encode.h: where a sample's input spikes come from.
 *
 * Poisson (Bernoulli) rate encoding of images, as in the paper: at every
 * step, input j spikes when its intensity p_j in [0, 1] exceeds a fresh
 * uniform random number. Only inputs with p_j > 0 can ever spike, so only
 * those draw random numbers: the encoder is sparse too.
 *
 * evsnn_input_t puts one face on the two kinds of input the engines and
 * the trainer consume step by step: a Poisson-encoded image, or a fixed
 * spike trace (sensor events binned into steps).
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

/* One sample's input. Poisson: enc and rng set, trace NULL. Trace: step
 * k's spikes are trace[start[k] .. start[k+1]) for k < steps; later steps
 * are silent. Neither is owned. */
typedef struct evsnn_input_s {
  const evsnn_poisson_t *enc;
  evsnn_rng_t *rng;
  const uint32_t *trace;
  const uint64_t *start;
  uint32_t steps;
} evsnn_input_t;

/* Writes step k's input spike indices to out (room for all inputs) and
 * returns their number. Steps must be asked for in order 0, 1, 2, ...
 * (Poisson draws advance rng). */
uint32_t evsnn_input_step(const evsnn_input_t *in, uint32_t k, uint32_t *out);

#endif
