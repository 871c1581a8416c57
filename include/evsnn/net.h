/* evsnn/net.h: the network description: layer sizes, leak, thresholds and
 * weights of a fully connected multilayer LIF network (the paper's model).
 *
 * Layer m (1..L) maps the sizes[m-1] neurons below to sizes[m] neurons. Its
 * weights W^m are stored column-major: column j, the outgoing weights of
 * presynaptic neuron j, is contiguous, ld = evsnn__pad16(sizes[m]) floats
 * long and 64-byte aligned, so that a spike of j adds one column to the
 * target potentials (evsnn/kernels.h). Padding lanes are zero and stay zero.
 * Hidden layers spike and reset to zero; the last layer never spikes: it
 * accumulates (with the same leak) the scores the classifier reads.
 *
 * All weights live in one allocation, `params`, of n_params floats (padding
 * included); gradients and optimiser moments use the same layout, so one
 * loop updates them all.
 */
#ifndef EVSNN_NET_H
#define EVSNN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/rng.h"

#define EVSNN_MAX_LAYERS 8

typedef struct evsnn_layer_s {
  uint32_t n_in;    /* presynaptic neurons (columns) */
  uint32_t n_out;   /* neurons of this layer */
  uint32_t ld;      /* floats per column: n_out padded to 16 */
  size_t offset;    /* first float of W in net->params */
  float *W;         /* net->params + offset: n_in columns of ld floats */
  float threshold;  /* s^m; unused by the last layer */
} evsnn_layer_t;

typedef struct evsnn_net_s {
  uint32_t n_layers;                    /* weight layers L (3 for 784-300-300-10) */
  uint32_t sizes[EVSNN_MAX_LAYERS + 1]; /* sizes[0] inputs, sizes[L] outputs */
  float beta;                           /* leak per step, beta = exp(-dt / tau) */
  evsnn_layer_t layer[EVSNN_MAX_LAYERS];
  float *params; /* owned: all weights, 64-byte aligned, padding zero */
  size_t n_params;
} evsnn_net_t;

/* Which h the initialisation U(-sqrt(3/h), sqrt(3/h)) takes for layer m:
 * its fan-in sizes[m-1] or its own width sizes[m]. The paper says "the
 * number of neurons in the hidden layer", i.e. the width. */
typedef enum { EVSNN_INIT_FANIN = 0, EVSNN_INIT_WIDTH = 1 } evsnn_init_h_t;

/* Sizes the network and allocates zeroed weights; thresholds start at 1.
 * n_sizes = L + 1, 2 <= n_sizes <= EVSNN_MAX_LAYERS + 1, every size in
 * [1, 65535]. On failure nothing is allocated. */
int evsnn_net_init(evsnn_net_t *net, const uint32_t *sizes, uint32_t n_sizes, float beta);
/* Frees the weights; net may be zero-initialised or already freed. */
void evsnn_net_free(evsnn_net_t *net);

/* The paper's initialisation: W^m uniform in [-sqrt(3/h_m), sqrt(3/h_m)],
 * drawn from stream m of `seed`; hidden thresholds s^m = scale[m-1] *
 * sqrt(3/h_m) with h_m the width of hidden layer m (5 and 3 in the paper). */
void evsnn_net_init_params(evsnn_net_t *net, uint64_t seed, evsnn_init_h_t h, const float *threshold_scale);

/* Weight w_ij of layer m (1-based): target neuron i, presynaptic neuron j. */
static inline float *evsnn_net_w(const evsnn_net_t *net, uint32_t m, uint32_t i, uint32_t j) {
  const evsnn_layer_t *l = &net->layer[m - 1];
  return l->W + (size_t)j * l->ld + i;
}

/* Real weights (no padding): the paper's 784-300-300-10 has 328,200. */
size_t evsnn_net_n_weights(const evsnn_net_t *net);

#endif
