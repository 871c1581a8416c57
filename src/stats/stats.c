/* The per-population counters behind `evsnn stats` and `evsnn test`
 * (evsnn/stats.h): the engines' spike and operation counts summed over
 * samples, the neurons silent through a sample, and the report per
 * population, in one place so that every command prints the same figures. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/stats.h"

int evsnn_stats_init(evsnn_stats_t *s, const evsnn_net_t *net) {
  memset(s, 0, sizeof *s);
  size_t words = 0;
  for (uint32_t m = 0; m < net->n_pops; m++) words += net->pop[m].n;
  uint32_t *q = s->mem = calloc(words ? words : 1, sizeof(uint32_t));
  if (!q) return evsnn__fail(EVSNN_ENOMEM, "stats: %zu neurons", words);
  s->net = net;
  for (uint32_t m = 0; m < net->n_pops; m++) s->stamp[m] = q, q += net->pop[m].n;
  return 0;
}

void evsnn_stats_free(evsnn_stats_t *s) {
  free(s->mem);
  memset(s, 0, sizeof *s);
}

void evsnn_stats_spikes(evsnn_stats_t *s, uint32_t m, const uint32_t *idx, uint32_t n) {
  uint32_t now = (uint32_t)s->samples + 1;
  for (uint32_t i = 0; i < n; i++) s->stamp[m][idx[i]] = now;
}

void evsnn_stats_step(evsnn_stats_t *s, const evsnn_state_t *st) {
  for (uint32_t m = 0; m < s->net->n_pops; m++) evsnn_stats_spikes(s, m, st->spikes[m], st->n_spikes[m]);
}

void evsnn_stats_end_sample(evsnn_stats_t *s) {
  uint32_t now = (uint32_t)s->samples + 1;
  for (uint32_t m = 0; m < s->net->n_pops; m++)
    for (uint32_t i = 0; i < s->net->pop[m].n; i++) s->silent[m] += s->stamp[m][i] != now;
  s->samples++;
}

void evsnn_stats_add(evsnn_stats_t *s, const evsnn_counts_t *c) {
  s->counts.steps += c->steps;
  for (uint32_t m = 0; m < EVSNN_MAX_POPS; m++) s->counts.spikes[m] += c->spikes[m];
  for (uint32_t q = 0; q < EVSNN_MAX_PROJS; q++)
    s->counts.synops[q] += c->synops[q], s->counts.dense_macs[q] += c->dense_macs[q];
}

static double per_sample(const evsnn_stats_t *s) { return s->samples ? (double)s->samples : 1.0; }

void evsnn_stats_pop(const evsnn_stats_t *s, uint32_t m, evsnn_stats_pop_t *out) {
  const evsnn_net_t *net = s->net;
  const evsnn_pop_t *p = &net->pop[m];
  memset(out, 0, sizeof *out);
  out->neurons = p->n;
  out->spiking = p->model != EVSNN_NEURON_LI;
  for (uint32_t q = 0; q < net->n_projs; q++)
    if (net->proj[q].dst == m) out->synops += s->counts.synops[q], out->dense_macs += s->counts.dense_macs[q];
  double ns = per_sample(s);
  out->event_nj = (double)out->synops / ns * EVSNN_PJ_AC * 1e-3;
  out->dense_nj = (double)out->dense_macs / ns * EVSNN_PJ_MAC * 1e-3;
  if (!out->spiking) return;
  out->spikes = s->counts.spikes[m];
  if (s->counts.steps) out->per_step = (double)out->spikes / p->n / (double)s->counts.steps;
  if (s->seconds > 0) out->per_second = (double)out->spikes / p->n / s->seconds;
  out->silent_fraction = (double)s->silent[m] / ns / p->n;
}

void evsnn_stats_total(const evsnn_stats_t *s, evsnn_stats_total_t *out) {
  const evsnn_net_t *net = s->net;
  memset(out, 0, sizeof *out);
  for (uint32_t m = 1; m + 1 < net->n_pops; m++) out->hidden_spikes += s->counts.spikes[m];
  for (uint32_t q = 0; q < net->n_projs; q++) out->synops += s->counts.synops[q], out->dense_macs += s->counts.dense_macs[q];
  double ns = per_sample(s);
  out->event_nj = (double)out->synops / ns * EVSNN_PJ_AC * 1e-3;
  out->dense_nj = (double)out->dense_macs / ns * EVSNN_PJ_MAC * 1e-3;
}
