/* The event-driven engine: per step, each layer receives the spike list of
 * the layer below and adds one weight column per spike; leak is applied
 * lazily (see evsnn/engine.h for the order of work and why). */
#include <string.h>

#include "core/internal.h"
#include "evsnn/engine.h"
#include "evsnn/kernels.h"

int evsnn_state_init(evsnn_state_t *st, const evsnn_net_t *net) {
  memset(st, 0, sizeof *st);
  size_t floats = 0;
  for (uint32_t m = 0; m < net->n_layers; m++) floats += net->layer[m].ld;
  size_t words = 0;
  for (uint32_t m = 0; m <= net->n_layers; m++) words += evsnn__pad16(net->sizes[m]);
  st->mem = evsnn__alloc_aligned(floats + words, sizeof(float));
  if (!st->mem) return evsnn__fail(EVSNN_ENOMEM, "engine state");
  st->net = net;
  float *p = st->mem;
  for (uint32_t m = 0; m < net->n_layers; m++, p += net->layer[m - 1].ld) st->v[m] = p;
  uint32_t *q = (uint32_t *)p;
  for (uint32_t m = 0; m <= net->n_layers; m++, q += evsnn__pad16(net->sizes[m - 1])) st->spikes[m] = q;
  return 0;
}

void evsnn_state_free(evsnn_state_t *st) {
  evsnn__free_aligned(st->mem);
  memset(st, 0, sizeof *st);
}

void evsnn_state_reset(evsnn_state_t *st) {
  const evsnn_net_t *net = st->net;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    memset(st->v[m], 0, sizeof(float) * net->layer[m].ld);
    st->updated[m] = 0;
  }
  memset(st->n_spikes, 0, sizeof st->n_spikes);
  st->step = 0;
}

/* Brings v[m] to the end of step now-1 as if no input had arrived since it
 * was last exact: one multiply by beta per elapsed step, the same rounding
 * as the dense engine's per-step leak. */
static void decay_to(evsnn_state_t *st, uint32_t m, uint32_t now) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  for (uint32_t k = st->updated[m]; k < now; k++) kern->scale(st->v[m], st->net->layer[m].n_out, st->net->beta);
  st->updated[m] = now;
}

void evsnn_state_step(evsnn_state_t *st, const uint32_t *in, uint32_t n_in) {
  const evsnn_net_t *net = st->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t k = st->step;
  if (n_in && in != st->spikes[0]) memcpy(st->spikes[0], in, sizeof(uint32_t) * n_in);
  st->n_spikes[0] = n_in;
  st->counts.spikes[0] += n_in;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    const evsnn_layer_t *l = &net->layer[m];
    uint32_t n_pre = st->n_spikes[m];
    st->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out;
    st->n_spikes[m + 1] = 0;
    if (n_pre == 0) continue; /* nothing arrives: the layer is not touched */
    /* v[k] = beta v[k-1] + net[k] (4): decay through step k, then add. */
    decay_to(st, m, k + 1);
    kern->colsum(st->v[m], l->W, l->ld, st->spikes[m], n_pre, l->n_out);
    st->counts.synops[m] += (uint64_t)n_pre * l->n_out;
    if (m + 1 < net->n_layers) {
      uint32_t ns = kern->fire(st->v[m], l->n_out, l->threshold, st->spikes[m + 1]);
      st->n_spikes[m + 1] = ns;
      st->counts.spikes[m + 1] += ns;
    }
  }
  st->step = k + 1;
  st->counts.steps++;
}

const float *evsnn_state_potentials(evsnn_state_t *st, uint32_t m) {
  decay_to(st, m - 1, st->step);
  return st->v[m - 1];
}

uint32_t evsnn_argmax(const float *x, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

uint32_t evsnn_state_classify(evsnn_state_t *st, const evsnn_input_t *in, uint32_t T) {
  const evsnn_net_t *net = st->net;
  evsnn_state_reset(st);
  for (uint32_t k = 0; k < T; k++) {
    /* The input is written straight into the input spike list. */
    uint32_t n = evsnn_input_step(in, k, st->spikes[0]);
    evsnn_state_step(st, st->spikes[0], n);
  }
  return evsnn_argmax(evsnn_state_potentials(st, net->n_layers), net->sizes[net->n_layers]);
}
