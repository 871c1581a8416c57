/* evsnn/ctime.h: the network in continuous time, fed by timestamped events.
 *
 * Sensor events carry real timestamps (microseconds, int64), not step
 * numbers. The continuous-time engine keeps every pending delivery as an
 * event (time, target layer, presynaptic neuron) in a queue ordered by
 * (time, target layer, insertion counter) (see evsnn_queue_t). A layer's
 * potentials are exact as of the last time the layer was touched; when a
 * delivery arrives at time t
 * they are first decayed by exp(-(t - t_last) / tau), then the weight
 * columns of every delivery to that layer at time t are added, then the
 * layer is checked against its threshold; its spikes leave as new events at
 * t + delay[m] for the layer above. In a fully connected layer every
 * delivery touches every neuron of the target layer, so one timestamp per
 * layer is the same thing as one per neuron and the decay stays a vector
 * multiply. The last layer never spikes: its potentials are the scores.
 *
 * A network trained in discrete time (step dt, leak beta) runs with
 * tau = -dt / ln(beta), so exp(-dt / tau) = beta.
 *
 * Order of work at one timestamp t, and why it reproduces the discrete
 * engine (evsnn/engine.h): all deliveries to layer 1 at t are added before
 * layer 1 is checked (the discrete step sums every input spike of the step
 * before thresholding, eq. 3-5); with zero delay, layer 1's spikes at t
 * are deliveries to layer 2 at t, and the key (t, layer) puts them after
 * every layer-1 delivery at t and before anything at a later time, so
 * layer 2 sees layer 1's spikes of the same instant, as layer m sees layer
 * m-1's spikes of the same step in the paper. Within one (t, layer) the
 * insertion counter fixes the order of the column adds, so a run is
 * deterministic. Hence when every input event sits on a step boundary
 * t = k dt, the spikes are those of the discrete engine at step k; the
 * potentials differ only by rounding (one exp per gap instead of one
 * multiply by beta per step), tested to agree within float tolerance.
 *
 * Input events must come in non-decreasing time order. Because a later
 * input could still arrive at the current time, pushing input at t runs
 * only what is strictly earlier than t + delay[0]; evsnn_ctime_advance
 * and evsnn_ctime_flush run the rest.
 *
 * Optional, per layer m (index m-1 for layer m): a synaptic delay
 * (deliveries into layer m arrive delay[m-1] us after the presynaptic spike
 * or input event) and a refractory period (a neuron of hidden layer m that
 * spiked at t ignores input, held at its reset value 0, until
 * t + refractory[m-1]; it may spike again at that time).
 *
 * One state per stream: evsnn_ctime_t holds everything a stream needs and
 * shares only the (read-only) network, so any number of states may run on
 * different threads over one network. Memory is allocated once, in init;
 * nothing is allocated per event.
 */
#ifndef EVSNN_CTIME_H
#define EVSNN_CTIME_H

#include <stdint.h>

#include "evsnn/engine.h"
#include "evsnn/net.h"
#include "evsnn/time.h"

/* The event queue. Deliveries into one layer are made in time order:
 * input comes in time order and goes in after delay[0]; a layer's spikes
 * leave as the engine's clock advances and arrive after that layer's fixed
 * delay. So the queue is exactly one FIFO per target layer, merged by
 * (time, layer) at the head: O(1) per event, the same order as a priority
 * queue keyed (time, layer, insertion counter). The binary heap is that
 * priority queue, kept as the FIFOs' naive twin: tests check both give the
 * same spikes, and bench_ctime measures both (docs/benchmarks.md). */
typedef enum { EVSNN_QUEUE_FIFO = 0, EVSNN_QUEUE_HEAP = 1 } evsnn_queue_t;

typedef struct evsnn_ctime_opts_s {
  double dt_us;                         /* step the net was trained with; tau = -dt / ln(beta). 0: 1000 us */
  int64_t delay_us[EVSNN_MAX_LAYERS];   /* [m-1]: synaptic delay into layer m, >= 0 */
  int64_t refractory_us[EVSNN_MAX_LAYERS]; /* [m-1]: refractory period of hidden layer m, >= 0 */
  evsnn_queue_t queue;                  /* EVSNN_QUEUE_FIFO (the default) or EVSNN_QUEUE_HEAP */
  uint32_t queue_cap;                   /* pending deliveries: per target layer (FIFO) or in all (heap);
                                           0: 4 x the widest non-output layer (at least 1024), x L for the
                                           heap; at least 65536 when a delay is set. 24 bytes each. */
  /* Called for every spike of a hidden layer (layer 1..L-1), in time order,
   * and when the decision (argmax of the output potentials, first on ties)
   * changes; either may be NULL. They must not call back into the state. */
  void (*on_spike)(void *ud, int64_t t, uint32_t layer, uint32_t neuron);
  void (*on_decision)(void *ud, int64_t t, uint32_t cls);
  void *ud;
} evsnn_ctime_opts_t;

/* One pending delivery: at time t, a spike of neuron `neuron` of layer
 * (order >> 56) - 1 reaches layer order >> 56; order's low 56 bits are the
 * insertion counter. */
typedef struct evsnn_ctime_ev_s {
  int64_t t;
  uint64_t order;
  uint32_t neuron;
} evsnn_ctime_ev_t;

typedef struct evsnn_ctime_s {
  const evsnn_net_t *net;
  evsnn_ctime_opts_t o;
  double tau_us;
  float *v[EVSNN_MAX_LAYERS];       /* potentials of layer m+1, pad16 floats */
  int64_t t_v[EVSNN_MAX_LAYERS];    /* v[m] is exact as of this time */
  int64_t *ref_until[EVSNN_MAX_LAYERS]; /* per neuron, hidden layers with a refractory period */
  uint32_t *batch;                  /* the presynaptic neurons of one (t, layer) */
  uint32_t *fired;                  /* spikes of one check */
  evsnn_ctime_ev_t *heap;           /* EVSNN_QUEUE_HEAP */
  uint32_t heap_n, heap_cap;        /* heap_cap: the capacity of the heap or of each FIFO */
  evsnn_ctime_ev_t *ring[EVSNN_MAX_LAYERS]; /* EVSNN_QUEUE_FIFO: [m-1] deliveries into layer m */
  uint32_t ring_head[EVSNN_MAX_LAYERS], ring_n[EVSNN_MAX_LAYERS];
  uint64_t seq;                     /* insertion counter */
  int64_t t_in;                     /* last input time pushed (INT64_MIN: none) */
  int64_t t_now;                    /* time of the last work done (INT64_MIN: none) */
  int64_t t_first;                  /* first input time (INT64_MIN: none) */
  int32_t decision;                 /* current argmax of the output, -1 before any output input */
  uint64_t input_events;            /* input events pushed */
  evsnn_counts_t counts;            /* spikes[0] = input events delivered; steps: see evsnn_ctime_counts */
  void *mem;                        /* owned: one allocation for all of the above */
} evsnn_ctime_t;

/* Allocates a state for net (which must outlive it), all potentials zero.
 * opts may be NULL (dt 1 ms, no delays, no refractory period). Errors:
 * EVSNN_EINVAL (beta not in (0, 1), negative delay, dt <= 0, delays adding
 * up to EVSNN_T_END or more, a refractory period that long), EVSNN_ENOMEM;
 * on failure nothing stays allocated. */
int evsnn_ctime_init(evsnn_ctime_t *ct, const evsnn_net_t *net, const evsnn_ctime_opts_t *opts);
/* Frees; accepts a zeroed or freed state. */
void evsnn_ctime_free(evsnn_ctime_t *ct);
/* Back to no time and zero potentials, the queue emptied, counters zeroed. */
void evsnn_ctime_reset(evsnn_ctime_t *ct);

/* Queues an input spike of input neuron `neuron` at time t, after running
 * everything strictly earlier than t + delay[0]. Errors: EVSNN_ERANGE
 * (neuron >= inputs; t outside evsnn/time.h's domain; or the queue is full
 * of work at one instant), EVSNN_EORDER (t earlier than the last input),
 * with the state unchanged. */
int evsnn_ctime_push(evsnn_ctime_t *ct, int64_t t, uint32_t neuron);
/* Feeds a spike of neuron `neuron` of layer `layer` (0 = input, as push;
 * 1..L-1 = a hidden layer, e.g. from a recorded spike file) at time t: it
 * reaches layer + 1 at t + delay[layer], after everything strictly earlier
 * has run. The same order contract as push, shared with it (a stream
 * should feed one layer, since deliveries into several layers at one
 * instant are only ordered as they are queued). Errors as push. */
int evsnn_ctime_inject(evsnn_ctime_t *ct, int64_t t, uint32_t layer, uint32_t neuron);
/* Declares that no input earlier than t will come and runs everything
 * strictly earlier than t + delay[0]. Errors as push (EVSNN_ERANGE if a
 * burst of spikes overflows the queue: the state must then be reset). */
int evsnn_ctime_advance(evsnn_ctime_t *ct, int64_t t);
/* Runs everything queued (the end of the input). */
int evsnn_ctime_flush(evsnn_ctime_t *ct);

/* Potentials of layer m (1-based) decayed to time t (>= the last work
 * done; earlier values of t read them as of the last work). Written to out
 * (sizes[m] floats); the state is not changed. */
void evsnn_ctime_potentials(const evsnn_ctime_t *ct, uint32_t m, int64_t t, float *out);
/* Deliveries queued and not yet run. */
uint64_t evsnn_ctime_pending(const evsnn_ctime_t *ct);
/* The current decision: argmax of the output potentials (decay scales them
 * all alike, so it does not depend on the time read), -1 before any input
 * reached the output layer. */
int32_t evsnn_ctime_decision(const evsnn_ctime_t *ct);
/* The counters, with steps set to the number of dt-steps the input spans
 * (first to last input time, inclusive) and dense_macs to the MACs a dense
 * engine would do over those steps, so synops / dense_macs is comparable
 * with the discrete engine's ratio. */
void evsnn_ctime_counts(const evsnn_ctime_t *ct, evsnn_counts_t *out);

#endif
