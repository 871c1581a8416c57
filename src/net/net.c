/* The network description: building the graph (populations, projections,
 * their derived shapes), the one parameter allocation, the layer view of a
 * chain, and the paper's initialisation. Nothing here runs the network. */
#include "evsnn/net.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "net/proj.h"

#define MAX_NEURONS (1u << 24)

int evsnn_net_begin(evsnn_net_t *net, uint32_t c, uint32_t h, uint32_t w) {
  memset(net, 0, sizeof *net);
  if (!c || !h || !w || (uint64_t)c * h * w > MAX_NEURONS)
    return evsnn__fail(EVSNN_EINVAL, "network: input shape %ux%ux%u, expected 1 to %u neurons", c, h, w, MAX_NEURONS);
  evsnn_pop_t *in = &net->pop[0];
  snprintf(in->name, sizeof in->name, "in");
  in->c = c, in->h = h, in->w = w, in->n = c * h * w, in->ld = (uint32_t)evsnn__pad16(in->n);
  in->model = EVSNN_NEURON_INPUT;
  net->n_pops = 1;
  return 0;
}

int evsnn_net_add_pop(evsnn_net_t *net, const char *name, uint32_t c, uint32_t h, uint32_t w, evsnn_neuron_t model,
                      evsnn_reset_t reset, float beta, float threshold, float threshold_scale) {
  if (net->n_pops >= EVSNN_MAX_POPS)
    return evsnn__fail(EVSNN_EINVAL, "network: more than %d populations", EVSNN_MAX_POPS);
  if (!c || !h || !w || (uint64_t)c * h * w > MAX_NEURONS)
    return evsnn__fail(EVSNN_EINVAL, "network: population %s of %ux%ux%u, expected 1 to %u neurons", name, c, h, w,
                       MAX_NEURONS);
  if (model == EVSNN_NEURON_IF) beta = 1.0f;
  if (model == EVSNN_NEURON_INPUT || !(beta >= 0.0f && beta <= 1.0f))
    return evsnn__fail(EVSNN_EINVAL, "network: population %s: leak beta %g outside [0, 1]", name, beta);
  if (model != EVSNN_NEURON_LI && !(threshold > 0.0f && isfinite(threshold)))
    return evsnn__fail(EVSNN_EINVAL, "network: population %s: threshold %g, expected > 0", name, threshold);
  if (!(threshold_scale >= 0.0f && isfinite(threshold_scale)))
    return evsnn__fail(EVSNN_EINVAL, "network: population %s: threshold scale %g, expected >= 0", name, threshold_scale);
  evsnn_pop_t *p = &net->pop[net->n_pops];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->c = c, p->h = h, p->w = w, p->n = c * h * w, p->ld = (uint32_t)evsnn__pad16(p->n);
  p->model = model, p->reset = reset, p->beta = beta, p->threshold = threshold, p->threshold_scale = threshold_scale;
  p->group = c;
  return (int)net->n_pops++;
}

static const evsnn_proj_ops_t *ops_of(evsnn_proj_kind_t kind) {
  switch (kind) {
  case EVSNN_PROJ_DENSE:
  case EVSNN_PROJ_RECURRENT: return &evsnn__proj_dense;
  case EVSNN_PROJ_CONV: return &evsnn__proj_conv;
  case EVSNN_PROJ_POOL: return &evsnn__proj_pool;
  }
  return NULL;
}

int evsnn_net_add_proj(evsnn_net_t *net, const evsnn_proj_t *given) {
  if (net->n_projs >= EVSNN_MAX_PROJS)
    return evsnn__fail(EVSNN_EINVAL, "network: more than %d projections", EVSNN_MAX_PROJS);
  evsnn_proj_t p = *given;
  p.ops = ops_of(p.kind);
  if (!p.ops || p.src >= net->n_pops || p.dst >= net->n_pops || !p.dst)
    return evsnn__fail(EVSNN_EINVAL, "network: projection %u: kind %d from %u to %u of %u populations", net->n_projs,
                       (int)p.kind, p.src, p.dst, net->n_pops);
  const evsnn_pop_t *src = &net->pop[p.src];
  evsnn_pop_t *dst = &net->pop[p.dst];
  if ((p.kind == EVSNN_PROJ_RECURRENT) != (p.src == p.dst) || p.src > p.dst)
    return evsnn__fail(EVSNN_EINVAL, "network: projection %s -> %s: only a recurrent projection goes from a population "
                       "to itself, and every other one to a later population", src->name, dst->name);
  p.in_c = src->c, p.in_h = src->h, p.in_w = src->w;
  if (p.pool_k || p.kind == EVSNN_PROJ_POOL) {
    if (!p.pool_stride) p.pool_stride = p.pool_k;
    if (!p.pool_k || p.pool_k > src->h || p.pool_k > src->w || p.kind == EVSNN_PROJ_RECURRENT)
      return evsnn__fail(EVSNN_EINVAL, "network: pooling %u x %u of %s (%ux%ux%u): the window must fit the map",
                         p.pool_k, p.pool_k, src->name, src->c, src->h, src->w);
    p.in_h = (src->h - p.pool_k) / p.pool_stride + 1;
    p.in_w = (src->w - p.pool_k) / p.pool_stride + 1;
  }
  p.n_in = p.in_c * p.in_h * p.in_w;
  p.in_chw = p.src == 0 && !p.pool_k; /* pooling writes channels last */
  p.n_out = dst->n;
  if (p.kind == EVSNN_PROJ_CONV) {
    if (!p.k || !p.stride || p.pad >= p.k || p.in_h + 2 * p.pad < p.k || p.in_w + 2 * p.pad < p.k)
      return evsnn__fail(EVSNN_EINVAL, "network: conv %ux%u stride %u padding %u on %ux%ux%u: expected a kernel that "
                         "fits the padded map, stride >= 1, padding < kernel", p.k, p.k, p.stride, p.pad, p.in_c,
                         p.in_h, p.in_w);
    uint32_t ho = (p.in_h + 2 * p.pad - p.k) / p.stride + 1, wo = (p.in_w + 2 * p.pad - p.k) / p.stride + 1;
    if (dst->h != ho || dst->w != wo)
      return evsnn__fail(EVSNN_EINVAL, "network: conv into %s: output map %ux%u, the population is %ux%ux%u",
                         dst->name, ho, wo, dst->c, dst->h, dst->w);
  } else if (p.kind == EVSNN_PROJ_POOL) {
    if (dst->c != p.in_c || dst->h != p.in_h || dst->w != p.in_w)
      return evsnn__fail(EVSNN_EINVAL, "network: pooling into %s: pooled map %ux%ux%u, the population is %ux%ux%u",
                         dst->name, p.in_c, p.in_h, p.in_w, dst->c, dst->h, dst->w);
  } else {
    p.k = p.stride = p.pad = 0;
  }
  p.ld = (uint32_t)evsnn__pad16(p.n_out);
  p.offset = 0, p.W = NULL;
  p.size = p.ops->size(&p);
  if (p.kind == EVSNN_PROJ_DENSE || p.kind == EVSNN_PROJ_RECURRENT) dst->whole = 1;
  if (p.kind == EVSNN_PROJ_POOL) dst->group = 1;
  net->proj[net->n_projs] = p;
  return (int)net->n_projs++;
}

/* The layer view: filled when the graph is a chain of dense projections
 * with LIF hidden layers (reset to zero) and an LI output, one beta. */
static void layer_view(evsnn_net_t *net) {
  uint32_t P = net->n_pops, chain = P >= 2 && P <= EVSNN_MAX_LAYERS + 1 && net->n_projs == P - 1;
  for (uint32_t m = 0; chain && m + 1 < P; m++) {
    const evsnn_proj_t *q = &net->proj[m];
    const evsnn_pop_t *p = &net->pop[m + 1];
    chain = q->kind == EVSNN_PROJ_DENSE && q->src == m && q->dst == m + 1 && !q->pool_k && p->beta == net->pop[1].beta &&
            (m + 2 == P ? p->model == EVSNN_NEURON_LI : p->model == EVSNN_NEURON_LIF && p->reset == EVSNN_RESET_ZERO);
  }
  net->n_layers = 0;
  if (!chain) return;
  net->n_layers = P - 1;
  net->beta = net->pop[1].beta;
  for (uint32_t m = 0; m < P; m++) net->sizes[m] = net->pop[m].n;
  for (uint32_t m = 0; m + 1 < P; m++) {
    const evsnn_proj_t *q = &net->proj[m];
    net->layer[m] = (evsnn_layer_t){q->n_in, q->n_out, q->ld, q->offset, q->W, net->pop[m + 1].threshold};
  }
}

void evsnn__net_sync(evsnn_net_t *net) { layer_view(net); }

int evsnn_net_finish(evsnn_net_t *net) { return evsnn__net_finish(net, SIZE_MAX); }

int evsnn__net_finish(evsnn_net_t *net, size_t max_weights) {
  uint32_t P = net->n_pops;
  if (P < 2) return evsnn__fail(EVSNN_EINVAL, "network: no population after the input");
  for (uint32_t m = 1; m < P; m++) {
    evsnn_pop_t *p = &net->pop[m];
    uint32_t in = 0, out = 0, conv_only = 1;
    for (uint32_t q = 0; q < net->n_projs; q++) {
      const evsnn_proj_t *pr = &net->proj[q];
      if (pr->dst == m && pr->src != m) in++;
      if (pr->src == m && pr->dst != m) out++;
      if (pr->dst == m && pr->kind != EVSNN_PROJ_CONV) conv_only = 0;
    }
    if (!in) return evsnn__fail(EVSNN_EINVAL, "network: population %s receives nothing", p->name);
    if (!out && m + 1 < P) return evsnn__fail(EVSNN_EINVAL, "network: population %s feeds nothing", p->name);
    if (p->model == EVSNN_NEURON_LI && m + 1 < P)
      return evsnn__fail(EVSNN_EINVAL, "network: population %s: only the readout (the last population) may be a "
                         "non-spiking LI", p->name);
    p->group = conv_only ? p->c : 1;
  }
  if (evsnn_net_n_weights(net) > max_weights)
    return evsnn__fail(EVSNN_EINVAL, "network: %zu parameters, more than the %zu that fit", evsnn_net_n_weights(net),
                       max_weights);
  size_t total = 0;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    net->proj[q].offset = total;
    total += evsnn__pad16(net->proj[q].size);
  }
  net->params = evsnn__alloc_aligned(total ? total : 16, sizeof(float));
  if (!net->params) {
    memset(net, 0, sizeof *net);
    return evsnn__fail(EVSNN_ENOMEM, "network: %zu parameters", total);
  }
  net->n_params = total;
  for (uint32_t q = 0; q < net->n_projs; q++) net->proj[q].W = net->params + net->proj[q].offset;
  layer_view(net);
  return 0;
}

int evsnn_net_init(evsnn_net_t *net, const uint32_t *sizes, uint32_t n_sizes, float beta) {
  memset(net, 0, sizeof *net);
  if (n_sizes < 2 || n_sizes > EVSNN_MAX_LAYERS + 1)
    return evsnn__fail(EVSNN_EINVAL, "network: %u sizes given, expected 2 to %d", n_sizes, EVSNN_MAX_LAYERS + 1);
  if (!(beta >= 0.0f && beta <= 1.0f))
    return evsnn__fail(EVSNN_EINVAL, "network: leak beta %g outside [0, 1]", beta);
  for (uint32_t m = 0; m < n_sizes; m++)
    if (sizes[m] < 1 || sizes[m] > 65535)
      return evsnn__fail(EVSNN_EINVAL, "network: layer %u has %u neurons, expected 1 to 65535", m, sizes[m]);
  int err = evsnn_net_begin(net, sizes[0], 1, 1);
  for (uint32_t m = 1; m < n_sizes && !err; m++) {
    char name[16];
    int last = m + 1 == n_sizes, pop;
    snprintf(name, sizeof name, "dense%u", m); /* as evsnn_net_parse names it */
    pop = evsnn_net_add_pop(net, name, sizes[m], 1, 1, last ? EVSNN_NEURON_LI : EVSNN_NEURON_LIF, EVSNN_RESET_ZERO,
                            beta, 1.0f, 0.0f);
    if (pop < 0) err = pop;
    else err = evsnn_net_add_proj(net, &(evsnn_proj_t){.kind = EVSNN_PROJ_DENSE, .src = m - 1, .dst = m});
    if (err > 0) err = 0;
  }
  if (!err) err = evsnn_net_finish(net);
  if (err) memset(net, 0, sizeof *net);
  return err;
}

void evsnn_net_free(evsnn_net_t *net) {
  evsnn__free_aligned(net->params);
  memset(net, 0, sizeof *net);
}

void evsnn_net_init_params(evsnn_net_t *net, uint64_t seed, evsnn_init_h_t h, const float *threshold_scale) {
  for (uint32_t q = 0; q < net->n_projs; q++) {
    evsnn_proj_t *p = &net->proj[q];
    if (!p->size) continue;
    float hq = (float)(h == EVSNN_INIT_FANIN ? p->ops->fan_in(p) : p->n_out);
    evsnn_rng_t rng;
    evsnn_rng_init(&rng, seed, q + 1);
    p->ops->init(p, &rng, sqrtf(3.0f / hq));
  }
  /* Thresholds follow the paper: scale * sqrt(3 / width of the layer). */
  for (uint32_t m = 1; m < net->n_pops; m++) {
    evsnn_pop_t *p = &net->pop[m];
    float scale = threshold_scale && m + 1 < net->n_pops ? threshold_scale[m - 1] : p->threshold_scale;
    if (p->model != EVSNN_NEURON_LI && scale > 0) p->threshold = scale * sqrtf(3.0f / (float)p->n);
  }
  layer_view(net);
}

void evsnn_net_set_threshold(evsnn_net_t *net, uint32_t m, float s) {
  net->pop[m].threshold = s;
  if (net->n_layers && m >= 1) net->layer[m - 1].threshold = s;
}

size_t evsnn_net_n_weights(const evsnn_net_t *net) {
  size_t n = 0;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    n += p->kind == EVSNN_PROJ_DENSE || p->kind == EVSNN_PROJ_RECURRENT ? (size_t)p->n_in * p->n_out : p->size;
  }
  return n;
}
