/* The event-driven engine: per step, each population receives the spike
 * lists of its projections' sources and adds their weights; leak is
 * applied lazily, per population or per group of neurons (see
 * evsnn/engine.h for the order of work and why). */
#include <string.h>

#include "core/internal.h"
#include "evsnn/engine.h"
#include "evsnn/kernels.h"
#include "net/proj.h"

/* The book-keeping of lazy leak, per population m (index m). */
struct evsnn__state_s {
  uint32_t updated[EVSNN_MAX_POPS];  /* whole: v is exact as of the end of step updated - 1 */
  uint32_t recheck[EVSNN_MAX_POPS];  /* whole, reset by subtraction: some v >= s is left after a reset */
  uint32_t *stamp[EVSNN_MAX_POPS];   /* partial: the same, per group */
  uint32_t *touched[EVSNN_MAX_POPS]; /* partial: groups touched this step, in order */
  uint32_t n_touched[EVSNN_MAX_POPS];
  uint32_t *pend[EVSNN_MAX_POPS];    /* partial, subtraction: groups to check again next step */
  uint32_t n_pend[EVSNN_MAX_POPS];
  uint32_t *prev[EVSNN_MAX_POPS];    /* recurrent: the previous step's spikes */
  uint32_t n_prev[EVSNN_MAX_POPS];
  uint32_t *pooled;                  /* a delivery's spikes in its projection's input space */
  float *count;                      /* spiking readout: spikes per output neuron */
};

static int recurrent_into(const evsnn_net_t *net, uint32_t m) {
  for (uint32_t q = 0; q < net->n_projs; q++)
    if (net->proj[q].kind == EVSNN_PROJ_RECURRENT && net->proj[q].dst == m) return 1;
  return 0;
}

int evsnn_state_init(evsnn_state_t *st, const evsnn_net_t *net) {
  memset(st, 0, sizeof *st);
  /* Sizes first, in 16-float units so every array stays 64-byte aligned. */
  size_t words = evsnn__pad16(sizeof(struct evsnn__state_s) / 4 + 1), pooled = 16;
  for (uint32_t m = 0; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    words += p->ld; /* spikes */
    if (!m) continue; /* the input population has no group size */
    size_t groups = evsnn__pad16(p->n / p->group);
    words += p->ld; /* v */
    if (!p->whole) words += 3 * groups;
    if (recurrent_into(net, m)) words += p->ld;
  }
  for (uint32_t q = 0; q < net->n_projs; q++) {
    size_t need = (size_t)net->pop[net->proj[q].src].n * evsnn__pool_reach(&net->proj[q]);
    if (need > pooled) pooled = need;
  }
  words += evsnn__pad16(pooled) + evsnn__pad16(evsnn_net_outputs(net));
  st->mem = evsnn__alloc_aligned(words, sizeof(float));
  if (!st->mem) return evsnn__fail(EVSNN_ENOMEM, "engine state: %zu words", words);
  st->net = net;
  uint32_t *q = st->mem;
  st->priv = (struct evsnn__state_s *)q, q += evsnn__pad16(sizeof(struct evsnn__state_s) / 4 + 1);
  struct evsnn__state_s *z = st->priv;
  for (uint32_t m = 0; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    st->spikes[m] = q, q += p->ld;
    if (!m) continue;
    size_t groups = evsnn__pad16(p->n / p->group);
    st->v[m - 1] = (float *)q, q += p->ld;
    if (!p->whole) {
      z->stamp[m] = q, q += groups;
      z->touched[m] = q, q += groups;
      z->pend[m] = q, q += groups;
    }
    if (recurrent_into(net, m)) z->prev[m] = q, q += p->ld;
  }
  z->pooled = q, q += evsnn__pad16(pooled);
  z->count = (float *)q;
  return 0;
}

void evsnn_state_free(evsnn_state_t *st) {
  evsnn__free_aligned(st->mem);
  memset(st, 0, sizeof *st);
}

void evsnn_state_reset(evsnn_state_t *st) {
  const evsnn_net_t *net = st->net;
  struct evsnn__state_s *z = st->priv;
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    memset(st->v[m - 1], 0, sizeof(float) * p->ld);
    z->updated[m] = z->recheck[m] = z->n_touched[m] = z->n_pend[m] = z->n_prev[m] = 0;
    if (!p->whole) memset(z->stamp[m], 0, sizeof(uint32_t) * (p->n / p->group));
  }
  memset(z->count, 0, sizeof(float) * evsnn_net_outputs(net));
  memset(st->n_spikes, 0, sizeof st->n_spikes);
  st->step = 0;
}

/* Brings a whole population to the end of step now-1 as if no input had
 * arrived since it was last exact: one multiply by beta per elapsed step,
 * the same rounding as the dense engine's per-step leak. */
static void decay_to(evsnn_state_t *st, uint32_t m, uint32_t now) {
  const evsnn_kernels_t *kern = evsnn_kernels();
  const evsnn_pop_t *p = &st->net->pop[m];
  uint32_t *updated = &st->priv->updated[m];
  if (p->beta != 1.0f)
    for (uint32_t k = *updated; k < now; k++) kern->scale(st->v[m - 1], p->n, p->beta);
  *updated = now;
}

/* The spikes of projection pr's source this step (the previous step's for a
 * recurrent one). */
static const uint32_t *source_spikes(const evsnn_state_t *st, const evsnn_proj_t *pr, uint32_t *n) {
  if (pr->kind == EVSNN_PROJ_RECURRENT) return *n = st->priv->n_prev[pr->src], st->priv->prev[pr->src];
  return *n = st->n_spikes[pr->src], st->spikes[pr->src];
}

/* Delivers every projection into population m, returns how many spikes
 * arrived. */
static uint32_t deliver(evsnn_state_t *st, uint32_t m, evsnn__target_t *tgt) {
  const evsnn_net_t *net = st->net;
  uint32_t arrived = 0;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->dst != m) continue;
    uint32_t n;
    const uint32_t *idx = source_spikes(st, pr, &n);
    st->counts.dense_macs[q] += pr->ops->dense_macs(pr);
    if (!n) continue;
    if (pr->pool_k) n = evsnn__pool_spikes(pr, &net->pop[pr->src], idx, n, st->priv->pooled), idx = st->priv->pooled;
    st->counts.synops[q] += pr->ops->propagate(pr, tgt, idx, n, evsnn__pool_scale(pr));
    arrived += n;
  }
  return arrived;
}

static int has_input(const evsnn_state_t *st, uint32_t m) {
  for (uint32_t q = 0; q < st->net->n_projs; q++) {
    const evsnn_proj_t *pr = &st->net->proj[q];
    uint32_t n;
    if (pr->dst == m && (source_spikes(st, pr, &n), n)) return 1;
  }
  return 0;
}

static void step_whole(evsnn_state_t *st, uint32_t m) {
  const evsnn_net_t *net = st->net;
  const evsnn_pop_t *p = &net->pop[m];
  struct evsnn__state_s *z = st->priv;
  float *v = st->v[m - 1];
  st->n_spikes[m] = 0;
  if (!has_input(st, m) && !z->recheck[m]) { /* nothing arrives: not touched */
    for (uint32_t q = 0; q < net->n_projs; q++)
      if (net->proj[q].dst == m) st->counts.dense_macs[q] += net->proj[q].ops->dense_macs(&net->proj[q]);
    return;
  }
  /* v[k] = beta v[k-1] + net[k] (4): decay through step k, then add. */
  decay_to(st, m, st->step + 1);
  evsnn__target_t tgt = {.v = v};
  deliver(st, m, &tgt);
  if (p->model == EVSNN_NEURON_LI) return;
  z->recheck[m] = evsnn__fire(p, v, 0, p->n, st->spikes[m], &st->n_spikes[m]);
}

static void step_partial(evsnn_state_t *st, uint32_t m) {
  const evsnn_pop_t *p = &st->net->pop[m];
  struct evsnn__state_s *z = st->priv;
  float *v = st->v[m - 1];
  evsnn__target_t tgt = {.v = v, .stamp = z->stamp[m], .touched = z->touched[m], .n_touched = &z->n_touched[m],
                         .now = st->step + 1, .group = p->group, .beta = p->beta};
  z->n_touched[m] = 0;
  /* Groups left at or above threshold by a subtraction are checked again. */
  for (uint32_t i = 0; i < z->n_pend[m]; i++) evsnn__touch_group(&tgt, z->pend[m][i]);
  z->n_pend[m] = 0;
  deliver(st, m, &tgt);
  st->n_spikes[m] = 0;
  if (p->model == EVSNN_NEURON_LI) return;
  for (uint32_t i = 0; i < z->n_touched[m]; i++) {
    uint32_t g = z->touched[m][i];
    if (evsnn__fire(p, v, g * p->group, p->group, st->spikes[m], &st->n_spikes[m])) z->pend[m][z->n_pend[m]++] = g;
  }
}

void evsnn_state_step(evsnn_state_t *st, const uint32_t *in, uint32_t n_in) {
  const evsnn_net_t *net = st->net;
  struct evsnn__state_s *z = st->priv;
  if (n_in && in != st->spikes[0]) memcpy(st->spikes[0], in, sizeof(uint32_t) * n_in);
  st->n_spikes[0] = n_in;
  st->counts.spikes[0] += n_in;
  for (uint32_t m = 1; m < net->n_pops; m++) {
    if (z->prev[m]) { /* last step's spikes feed the recurrent projection */
      memcpy(z->prev[m], st->spikes[m], sizeof(uint32_t) * st->n_spikes[m]);
      z->n_prev[m] = st->n_spikes[m];
    }
    if (net->pop[m].whole)
      step_whole(st, m);
    else
      step_partial(st, m);
    st->counts.spikes[m] += st->n_spikes[m];
  }
  const evsnn_pop_t *out = evsnn_net_out(net);
  if (out->model != EVSNN_NEURON_LI)
    for (uint32_t s = 0; s < st->n_spikes[net->n_pops - 1]; s++) z->count[st->spikes[net->n_pops - 1][s]] += 1.0f;
  st->step++;
  st->counts.steps++;
}

const float *evsnn_state_potentials(evsnn_state_t *st, uint32_t m) {
  const evsnn_pop_t *p = &st->net->pop[m];
  if (p->whole) {
    decay_to(st, m, st->step);
  } else {
    struct evsnn__state_s *z = st->priv;
    float *v = st->v[m - 1];
    for (uint32_t g = 0; g < p->n / p->group; g++) {
      if (p->beta != 1.0f)
        for (uint32_t k = z->stamp[m][g]; k < st->step; k++)
          for (uint32_t i = 0; i < p->group; i++) v[g * p->group + i] *= p->beta;
      z->stamp[m][g] = st->step;
    }
  }
  return st->v[m - 1];
}

uint32_t evsnn_argmax(const float *x, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

uint32_t evsnn_state_decision(evsnn_state_t *st) {
  const evsnn_net_t *net = st->net;
  uint32_t M = net->n_pops - 1;
  if (net->pop[M].model != EVSNN_NEURON_LI) return evsnn_argmax(st->priv->count, net->pop[M].n);
  return evsnn_argmax(evsnn_state_potentials(st, M), net->pop[M].n);
}

uint32_t evsnn_state_classify(evsnn_state_t *st, const evsnn_input_t *in, uint32_t T) {
  evsnn_state_reset(st);
  for (uint32_t k = 0; k < T; k++) {
    /* The input is written straight into the input spike list. */
    uint32_t n = evsnn_input_step(in, k, st->spikes[0]);
    evsnn_state_step(st, st->spikes[0], n);
  }
  return evsnn_state_decision(st);
}
