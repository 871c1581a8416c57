/* evsnn/stats.h: what sparsity buys, per population of a network.
 *
 * The engines count, per step, the spikes of every population and, per
 * projection, the synaptic operations done (weights added: spikes times
 * fan-out) and the multiply-accumulates its dense twin would do
 * (evsnn_counts_t, evsnn/engine.h). A stats accumulator sums those over
 * samples and adds what a counter cannot see: which neurons stayed silent
 * through a whole sample. Its report is per population: the spikes of the
 * population and the operations of the projections into it, so a
 * convolution's dense MACs (the dense convolution over the whole map,
 * every step) sit next to the map it computes.
 *
 * Feeding it: after every step of the discrete engine, evsnn_stats_step;
 * for spikes seen one by one (the continuous-time engine's on_spike, or
 * input events), evsnn_stats_spikes; evsnn_stats_end_sample after each
 * sample; the engine's counters with evsnn_stats_add (per sample or once,
 * they only add up). Nothing is allocated after init.
 */
#ifndef EVSNN_STATS_H
#define EVSNN_STATS_H

#include <stdint.h>

#include "evsnn/engine.h"
#include "evsnn/net.h"

/* The energy estimate's costs, 45 nm (M. Horowitz, "Computing's energy
 * problem", ISSCC 2014), the usual convention for SNN vs ANN estimates: a
 * 32-bit float add 0.9 pJ, a multiply-accumulate (3.7 pJ multiply + 0.9 pJ
 * add) 4.6 pJ. Memory access, which dominates real chips, is not counted. */
#define EVSNN_PJ_AC 0.9
#define EVSNN_PJ_MAC 4.6

typedef struct evsnn_stats_s {
  const evsnn_net_t *net;
  evsnn_counts_t counts;            /* summed over what evsnn_stats_add was given */
  uint64_t samples;                 /* samples ended */
  double seconds;                   /* recording time covered, set by the caller (0: steps only) */
  uint64_t silent[EVSNN_MAX_POPS];  /* per population: sum over samples of its neurons that never spiked */
  uint32_t *stamp[EVSNN_MAX_POPS];  /* per neuron: the sample (samples + 1) in which it last spiked */
  void *mem;                        /* owned: the stamps */
} evsnn_stats_t;

/* Zeroed counters for net (which must outlive s). EVSNN_ENOMEM; on failure
 * nothing stays allocated. */
int evsnn_stats_init(evsnn_stats_t *s, const evsnn_net_t *net);
/* Frees; accepts a zeroed or freed accumulator. */
void evsnn_stats_free(evsnn_stats_t *s);
/* Neurons idx[0:n] of population m spiked in the current sample. */
void evsnn_stats_spikes(evsnn_stats_t *s, uint32_t m, const uint32_t *idx, uint32_t n);
/* Every population's spikes of the step st just ran (input included). */
void evsnn_stats_step(evsnn_stats_t *s, const evsnn_state_t *st);
/* Closes the current sample: counts the neurons that did not spike in it. */
void evsnn_stats_end_sample(evsnn_stats_t *s);
/* Adds an engine's counters. */
void evsnn_stats_add(evsnn_stats_t *s, const evsnn_counts_t *c);

/* One population's figures. The projections into population m give synops
 * and dense_macs (0 for the input); an LI population never spikes, so it
 * has no rate and no silent fraction (spiking 0, both 0). Per-sample
 * figures divide by the samples ended (1 if none). */
typedef struct evsnn_stats_pop_s {
  uint32_t neurons;
  int spiking;                 /* the input, or a spiking model */
  uint64_t spikes, synops, dense_macs;
  double per_step;             /* spikes per neuron and step */
  double per_second;           /* spikes per neuron and second of recording (0 without seconds) */
  double silent_fraction;      /* of the neurons, silent through a sample, averaged over samples */
  double event_nj, dense_nj;   /* energy estimate per sample: synops x EVSNN_PJ_AC, dense MACs x EVSNN_PJ_MAC */
} evsnn_stats_pop_t;
void evsnn_stats_pop(const evsnn_stats_t *s, uint32_t m, evsnn_stats_pop_t *out);

/* The whole network: spikes of the hidden populations (neither the input
 * nor the readout), all synaptic operations and dense MACs, and the energy
 * estimate per sample. */
typedef struct evsnn_stats_total_s {
  uint64_t hidden_spikes, synops, dense_macs;
  double event_nj, dense_nj;
} evsnn_stats_total_t;
void evsnn_stats_total(const evsnn_stats_t *s, evsnn_stats_total_t *out);

#endif
