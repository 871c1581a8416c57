/* The network description: sizing, the one weight allocation, and the
 * paper's initialisation. Nothing here runs the network. */
#include "evsnn/net.h"

#include <math.h>
#include <string.h>

#include "core/internal.h"

int evsnn_net_init(evsnn_net_t *net, const uint32_t *sizes, uint32_t n_sizes, float beta) {
  memset(net, 0, sizeof *net);
  if (n_sizes < 2 || n_sizes > EVSNN_MAX_LAYERS + 1)
    return evsnn__fail(EVSNN_EINVAL, "network: %u sizes given, expected 2 to %d", n_sizes, EVSNN_MAX_LAYERS + 1);
  if (!(beta >= 0.0f && beta <= 1.0f))
    return evsnn__fail(EVSNN_EINVAL, "network: leak beta %g outside [0, 1]", beta);
  size_t total = 0;
  for (uint32_t m = 0; m < n_sizes; m++) {
    if (sizes[m] < 1 || sizes[m] > 65535)
      return evsnn__fail(EVSNN_EINVAL, "network: layer %u has %u neurons, expected 1 to 65535", m, sizes[m]);
    net->sizes[m] = sizes[m];
  }
  net->n_layers = n_sizes - 1;
  net->beta = beta;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    evsnn_layer_t *l = &net->layer[m];
    l->n_in = sizes[m];
    l->n_out = sizes[m + 1];
    l->ld = (uint32_t)evsnn__pad16(l->n_out);
    l->offset = total;
    l->threshold = 1.0f;
    total += (size_t)l->n_in * l->ld;
  }
  net->params = evsnn__alloc_aligned(total, sizeof(float));
  if (!net->params) {
    memset(net, 0, sizeof *net);
    return evsnn__fail(EVSNN_ENOMEM, "network: %zu weights", total);
  }
  net->n_params = total;
  for (uint32_t m = 0; m < net->n_layers; m++) net->layer[m].W = net->params + net->layer[m].offset;
  return 0;
}

void evsnn_net_free(evsnn_net_t *net) {
  evsnn__free_aligned(net->params);
  memset(net, 0, sizeof *net);
}

void evsnn_net_init_params(evsnn_net_t *net, uint64_t seed, evsnn_init_h_t h, const float *threshold_scale) {
  for (uint32_t m = 0; m < net->n_layers; m++) {
    evsnn_layer_t *l = &net->layer[m];
    float hm = (float)(h == EVSNN_INIT_FANIN ? l->n_in : l->n_out);
    float a = sqrtf(3.0f / hm);
    evsnn_rng_t rng;
    evsnn_rng_init(&rng, seed, m + 1);
    for (uint32_t j = 0; j < l->n_in; j++)
      for (uint32_t i = 0; i < l->n_out; i++) l->W[(size_t)j * l->ld + i] = a * (2.0f * evsnn_rng_uniform(&rng) - 1.0f);
    /* Thresholds follow the paper: scale * sqrt(3 / width of the layer). */
    if (m + 1 < net->n_layers) l->threshold = threshold_scale[m] * sqrtf(3.0f / (float)l->n_out);
  }
}

size_t evsnn_net_n_weights(const evsnn_net_t *net) {
  size_t n = 0;
  for (uint32_t m = 0; m < net->n_layers; m++) n += (size_t)net->layer[m].n_in * net->layer[m].n_out;
  return n;
}
