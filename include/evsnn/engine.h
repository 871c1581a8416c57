/* evsnn/engine.h: running a network, event by event, and its dense twin.
 *
 * The event engine (evsnn_state_*) keeps, per layer, the membrane
 * potentials v and the step at which they were last brought up to date.
 * A step delivers the spikes of layer m-1 (an index list: the event queue
 * of that step) to layer m by adding their weight columns to v; leak is
 * lazy: v is decayed by beta^(elapsed steps) only when the layer is next
 * touched or read, so a step in which nothing arrives costs nothing, and
 * only a layer that received input is checked against its threshold
 * (without input, v only decays toward zero and cannot reach s > 0).
 *
 * Order of work within step k, layer by layer from the input upward:
 *   decay v^m to step k; v^m += sum of columns of the spikes b^{m-1}[k] (3,4);
 *   spikes b^m[k] = v^m >= s^m (5); reset those to zero (6).
 * Layer m sees layer m-1's spikes of the same step, as in the paper.
 *
 * The dense engine (evsnn_dense_*) computes the same equations with CBLAS
 * on dense vectors. It exists to prove the event engine right and to
 * measure what event-driven saves.
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
  uint64_t spikes[EVSNN_MAX_LAYERS + 1];   /* [0] input spikes, [m] layer m */
  uint64_t synops[EVSNN_MAX_LAYERS];       /* [m-1]: column adds into layer m x fan-out, in every engine */
  uint64_t dense_macs[EVSNN_MAX_LAYERS];   /* [m-1]: n_in x n_out per step */
} evsnn_counts_t;

typedef struct evsnn_state_s {
  const evsnn_net_t *net;
  uint32_t step;                         /* the step the next call runs */
  float *v[EVSNN_MAX_LAYERS];            /* potentials of layer m+1, pad16 floats */
  uint32_t updated[EVSNN_MAX_LAYERS];    /* v[m] is exact as of the end of step updated[m]-1 */
  uint32_t *spikes[EVSNN_MAX_LAYERS + 1];/* this step's spike list per layer, [0] input */
  uint32_t n_spikes[EVSNN_MAX_LAYERS + 1];
  evsnn_counts_t counts;
  float *mem;                            /* owned: one allocation for all of the above */
} evsnn_state_t;

/* Allocates the state for net (which must outlive it), zeroed. */
int evsnn_state_init(evsnn_state_t *st, const evsnn_net_t *net);
void evsnn_state_free(evsnn_state_t *st);
/* Back to step 0 with all potentials zero; counters are kept. */
void evsnn_state_reset(evsnn_state_t *st);
/* Runs one step with the given input spikes (indices < sizes[0]). */
void evsnn_state_step(evsnn_state_t *st, const uint32_t *in, uint32_t n_in);
/* Potentials of layer m (1-based) as of the last step run, decayed up to
 * date (and stored so); pad16 floats. */
const float *evsnn_state_potentials(evsnn_state_t *st, uint32_t m);

/* Resets st, runs T steps of the input in and returns the predicted class
 * (argmax of the output potentials). */
uint32_t evsnn_state_classify(evsnn_state_t *st, const evsnn_input_t *in, uint32_t T);
/* Index of the largest of n values (first on ties). */
uint32_t evsnn_argmax(const float *x, uint32_t n);

/* The dense reference engine. */
typedef struct evsnn_dense_s {
  const evsnn_net_t *net;
  float *v[EVSNN_MAX_LAYERS];         /* potentials of layer m+1 */
  float *b[EVSNN_MAX_LAYERS + 1];     /* 0/1 spike vectors, [0] input */
  evsnn_counts_t counts;
  float *mem;
} evsnn_dense_t;

int evsnn_dense_init(evsnn_dense_t *d, const evsnn_net_t *net);
void evsnn_dense_free(evsnn_dense_t *d);
void evsnn_dense_reset(evsnn_dense_t *d);
/* One step: sets b[0] from the input list, then for every layer
 * v = beta v + W b (sgemv), spikes and resets. */
void evsnn_dense_step(evsnn_dense_t *d, const uint32_t *in, uint32_t n_in);

#endif
