/* evsnn/engine.h: running a network, event by event, and its dense twin.
 *
 * The event engine (evsnn_state_*) keeps, per population, the membrane
 * potentials v and when they were last brought up to date. A step
 * delivers the spike lists of the step (the event queue of that step) to
 * the populations they project to; leak is lazy: v is decayed by
 * beta^(elapsed steps) only when it is next touched or read, so a step in
 * which nothing arrives costs nothing, and only neurons that received
 * input are checked against their threshold (without input, v only
 * decays toward zero and cannot reach s > 0).
 *
 * How much of a population one delivery touches decides the book-keeping.
 * A dense (or recurrent) projection touches every target neuron, so such a
 * population keeps one "up to date" step and decays as a whole vector
 * (the per-layer fast path of a fully connected network). A convolution
 * touches k^2 runs of C_out neurons and a pooling one neuron per spike, so
 * a population reached only through those keeps a step per group of
 * neurons that are always touched together (the C channels of a pixel for
 * convolutions, single neurons otherwise), decays a group when a delivery
 * first reaches it in a step, and checks only the groups it touched.
 *
 * Order of work within step k, population by population in graph order:
 *   for every projection into population m, in projection order: bring
 *   the neurons it reaches to step k (decay), add its weights for the
 *   spikes of its source at step k (at step k - 1 for a recurrent one) (3, 4);
 *   then spikes b^m[k] = v^m >= s^m (5) over the neurons touched, and reset
 *   those to zero or by subtracting s^m (6).
 * Population m sees the spikes of the populations before it at the same
 * step, as layer m sees layer m-1's in the paper. The readout (the last
 * population) is LI (its potentials are the scores) or spiking (its spike
 * counts are).
 *
 * The dense engine (evsnn_dense_*) computes the same equations with CBLAS
 * on dense vectors (sgemv, im2col + sgemm). It exists to prove the event
 * engine right and to measure what event-driven saves.
 */
#ifndef EVSNN_ENGINE_H
#define EVSNN_ENGINE_H

#include <stdint.h>

#include "evsnn/encode.h"
#include "evsnn/net.h"

/* Which engine runs a network: event-driven (evsnn_state_*, the sparse
 * trainer) or the dense CBLAS reference (evsnn_dense_*, the dense trainer).
 * EVSNN_ENGINE_DENSE_BATCH trains like the dense trainer on a worker's
 * whole share of each mini-batch at once (sgemm), the strongest dense
 * baseline; elsewhere it is EVSNN_ENGINE_DENSE. */
typedef enum { EVSNN_ENGINE_EVENT = 0, EVSNN_ENGINE_DENSE = 1, EVSNN_ENGINE_DENSE_BATCH = 2 } evsnn_engine_t;

/* Sparsity counters, accumulated over steps (reset by the caller). */
typedef struct evsnn_counts_s {
  uint64_t steps;
  uint64_t spikes[EVSNN_MAX_POPS];      /* [0] input spikes, [m] population m */
  uint64_t synops[EVSNN_MAX_PROJS];     /* [q]: weights added by projection q (spikes x fan-out) */
  uint64_t dense_macs[EVSNN_MAX_PROJS]; /* [q]: what its dense twin computes every step */
} evsnn_counts_t;

typedef struct evsnn_state_s {
  const evsnn_net_t *net;
  uint32_t step;                         /* the step the next call runs */
  float *v[EVSNN_MAX_POPS];              /* [m-1]: potentials of population m, pad16 floats */
  uint32_t *spikes[EVSNN_MAX_POPS];      /* this step's spike list per population, [0] input */
  uint32_t n_spikes[EVSNN_MAX_POPS];
  evsnn_counts_t counts;
  struct evsnn__state_s *priv;           /* the book-keeping of lazy leak (src/engine/event.c) */
  void *mem;                             /* owned: one allocation for all of the above */
} evsnn_state_t;

/* Allocates the state for net (which must outlive it), zeroed. */
int evsnn_state_init(evsnn_state_t *st, const evsnn_net_t *net);
void evsnn_state_free(evsnn_state_t *st);
/* Back to step 0 with all potentials zero; counters are kept. */
void evsnn_state_reset(evsnn_state_t *st);
/* Runs one step with the given input spikes (indices < the inputs). */
void evsnn_state_step(evsnn_state_t *st, const uint32_t *in, uint32_t n_in);
/* Potentials of population m (1-based) as of the last step run, decayed
 * up to date (and stored so); pad16 floats. */
const float *evsnn_state_potentials(evsnn_state_t *st, uint32_t m);

/* The class the readout says now: argmax of the output potentials (LI) or
 * of the output spike counts since the reset (spiking), first on ties. */
uint32_t evsnn_state_decision(evsnn_state_t *st);
/* Resets st, runs T steps of the input in and returns the decision. */
uint32_t evsnn_state_classify(evsnn_state_t *st, const evsnn_input_t *in, uint32_t T);
/* Index of the largest of n values (first on ties). */
uint32_t evsnn_argmax(const float *x, uint32_t n);

/* The dense reference engine. */
typedef struct evsnn_dense_s {
  const evsnn_net_t *net;
  float *v[EVSNN_MAX_POPS];         /* [m-1]: potentials of population m */
  float *b[EVSNN_MAX_POPS];         /* 0/1 spike vectors, [0] input */
  float *b_prev[EVSNN_MAX_POPS];    /* the previous step's, for recurrent projections */
  float *count;                     /* spike counts of a spiking readout */
  float *pooled, *scratch;          /* a projection's pooled input; the twins' scratch */
  evsnn_counts_t counts;
  void *mem;
} evsnn_dense_t;

int evsnn_dense_init(evsnn_dense_t *d, const evsnn_net_t *net);
void evsnn_dense_free(evsnn_dense_t *d);
void evsnn_dense_reset(evsnn_dense_t *d);
/* One step: sets b[0] from the input list, then for every population
 * v = beta v + the dense twins of its projections, spikes and resets. */
void evsnn_dense_step(evsnn_dense_t *d, const uint32_t *in, uint32_t n_in);
/* The dense engine's decision, as evsnn_state_decision. */
uint32_t evsnn_dense_decision(const evsnn_dense_t *d);

#endif
