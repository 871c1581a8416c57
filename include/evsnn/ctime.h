/* evsnn/ctime.h: the network in continuous time, fed by timestamped events.
 *
 * Sensor events carry real timestamps (microseconds, int64), not step
 * numbers. The continuous-time engine runs any graph the discrete engine
 * runs (evsnn/net.h, evsnn/engine.h): every pending delivery is an event
 * (time, projection, presynaptic neuron), and the deliveries of one
 * instant t into one population m are one unit of work, run in the order
 * (t, m): first the neurons they reach are brought from the time they were
 * last exact to t, by exp(-(t - t_last) / tau) with tau = -dt / ln(beta)
 * (IF neurons do not decay), then every delivery of (t, m) is added,
 * projection by projection in graph order, then the neurons touched are
 * checked against the threshold and reset. A population that a dense or
 * recurrent projection reaches is touched whole, so it keeps one time and
 * decays as one vector (the fast path of a fully connected network); one
 * reached only by convolutions or pooling keeps a time per group of
 * neurons that are always touched together (a pixel's channels, or single
 * neurons), as the discrete engine keeps a step per group, and a delivery
 * decays and checks only the groups it reaches. Spikes of m at t leave as
 * deliveries at t + delay[n] through every projection m -> n, and a
 * recurrent projection delivers at t + dt (it reads the previous step's
 * spikes in discrete time). A neuron left at or above threshold by a reset
 * by subtraction is checked again at t + dt, as the discrete engine checks
 * it again the next step. The readout (the last population) is LI, its
 * potentials the scores, or spiking, its spike counts the scores.
 *
 * Why this reproduces the discrete engine when every input event sits on
 * a step boundary t = k dt: the discrete step sums all input of step k
 * into a population before thresholding it (eq. 3-5), and so does the
 * unit (t, m); with zero delay, m's spikes at t reach a later population n
 * at t, and the order (t, m) runs n after m and before anything later, so
 * n sees m's spikes of the same instant, as in the paper; a recurrent
 * projection's spikes arrive at (k + 1) dt, the next step. Within one
 * (t, m) the projections run in graph order and each one's deliveries in
 * the order they were made, so a run is deterministic and adds in the
 * discrete engine's order. So the spikes are those of the discrete engine
 * at step k; the potentials differ only by rounding (one exp per gap
 * instead of one multiply by beta per step), tested to agree within float
 * tolerance. dt must then be a whole number of microseconds when the graph
 * has a recurrent projection or a reset by subtraction (their t + dt).
 *
 * Input events must come in non-decreasing time order. Because a later
 * input could still arrive at the current time, pushing input at t runs
 * only what is strictly earlier than the first time its deliveries can
 * arrive (t + the smallest delay out of the input); evsnn_ctime_advance
 * and evsnn_ctime_flush run the rest.
 *
 * Optional, per population m >= 1: a synaptic delay (every delivery into
 * m arrives delay[m] us after the presynaptic spike or input event) and a
 * refractory period (a neuron of m that spiked at t ignores input, held
 * at 0, until t + refractory[m]; it may spike again at that time).
 *
 * The queue: the deliveries through one projection are made in time order
 * (input comes in time order; a population's spikes leave as the clock
 * advances, after that projection's fixed delay), so it is one FIFO per
 * projection, plus one per population for the checks again after a
 * subtraction, merged at the head by (time, population, projection): O(1)
 * per event. One FIFO per target population, as for a chain, would not be
 * in time order once a recurrent projection writes t + dt into it ahead
 * of deliveries still to come before then.
 *
 * One state per stream: evsnn_ctime_t holds everything a stream needs and
 * shares only the (read-only) network, so any number of states may run on
 * different threads over one network. Memory is allocated once, in
 * evsnn_ctime_new; nothing is allocated per event.
 */
#ifndef EVSNN_CTIME_H
#define EVSNN_CTIME_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/engine.h"
#include "evsnn/net.h"
#include "evsnn/time.h"

typedef struct evsnn_ctime_opts_s {
  double dt_us;                          /* step the net was trained with; tau = -dt / ln(beta). 0: 1000 us */
  int64_t delay_us[EVSNN_MAX_POPS];      /* [m]: synaptic delay into population m >= 1, >= 0; [0] is 0 */
  int64_t refractory_us[EVSNN_MAX_POPS]; /* [m]: refractory period of spiking population m >= 1, >= 0 */
  uint32_t queue_cap;                    /* pending deliveries per FIFO; 0: 4 x the widest source (at least
                                            1024, at most 65536 x 4), at least 65536 with a delay or a
                                            recurrent projection. 12 bytes each. */
  /* Called for every spike of a population (1..P-1), in time order, and
   * when the decision (argmax of the readout's potentials or spike
   * counts, first on ties) changes; either may be NULL. They must not
   * call back into the state. */
  void (*on_spike)(void *ud, int64_t t, uint32_t pop, uint32_t neuron);
  void (*on_decision)(void *ud, int64_t t, uint32_t cls);
  void *ud;
} evsnn_ctime_opts_t;

typedef struct evsnn_ctime_s evsnn_ctime_t;

/* Allocates a state for net (which must outlive it), all potentials zero,
 * in *out. opts may be NULL (dt 1 ms, no delays, no refractory period).
 * Errors: EVSNN_EINVAL (a neuron model continuous time cannot run, dt <= 0,
 * a negative delay, delays adding up to EVSNN_T_END or more, a refractory
 * period that long or on the LI readout, a fractional dt with a recurrent
 * projection or a reset by subtraction), EVSNN_ENOMEM; on failure *out is
 * NULL and nothing stays allocated. */
int evsnn_ctime_new(evsnn_ctime_t **out, const evsnn_net_t *net, const evsnn_ctime_opts_t *opts);
/* Frees; accepts NULL. */
void evsnn_ctime_free(evsnn_ctime_t *ct);
/* Back to no time and zero potentials, the queue emptied, counters zeroed. */
void evsnn_ctime_reset(evsnn_ctime_t *ct);

/* Queues an input spike of input neuron `neuron` at time t, after running
 * everything earlier than its deliveries. Errors: EVSNN_ERANGE
 * (neuron >= inputs; t outside evsnn/time.h's domain; or the queue is full
 * of work at one instant), EVSNN_EORDER (t earlier than the last input),
 * with the state unchanged. */
int evsnn_ctime_push(evsnn_ctime_t *ct, int64_t t, uint32_t neuron);
/* Feeds a spike of neuron `neuron` of population `pop` (0 = input, as
 * push; a later one, e.g. from a recorded spike file) at time t: it leaves
 * through every projection out of pop, as pop's own spikes do. The same
 * order contract as push, shared with it (a stream should feed one
 * population: a spike behind one already queued through the same
 * projection is EVSNN_EORDER). Errors as push, and EVSNN_ERANGE for a
 * population nothing projects from. */
int evsnn_ctime_inject(evsnn_ctime_t *ct, int64_t t, uint32_t pop, uint32_t neuron);
/* Declares that no input earlier than t will come and runs everything
 * before the first time input at t could arrive. Errors as push
 * (EVSNN_ERANGE if a burst of spikes overflows the queue: the state must
 * then be reset). */
int evsnn_ctime_advance(evsnn_ctime_t *ct, int64_t t);
/* Runs everything queued (the end of the input). */
int evsnn_ctime_flush(evsnn_ctime_t *ct);

/* Potentials of population m (1-based, the network's neuron numbering)
 * decayed to time t (>= the last work done; earlier values of t read them
 * as of the last work). Written to out (pop[m].n floats); the state is not
 * changed. */
void evsnn_ctime_potentials(const evsnn_ctime_t *ct, uint32_t m, int64_t t, float *out);
/* Deliveries queued and not yet run. */
uint64_t evsnn_ctime_pending(const evsnn_ctime_t *ct);
/* The current decision: argmax of the readout's potentials (LI: decay
 * scales them all alike, so it does not depend on the time read) or of
 * its spike counts; -1 before any delivery reached the readout. */
int32_t evsnn_ctime_decision(const evsnn_ctime_t *ct);
/* Input events pushed (or injected) since the reset. */
uint64_t evsnn_ctime_input_events(const evsnn_ctime_t *ct);
/* The counters: spikes[0] input events delivered, spikes[m] population m's
 * spikes, synops[q] projection q's weights added; steps set to the number
 * of dt-steps the input spans (first to last input time, inclusive) and
 * dense_macs[q] to what the dense engine would do over those steps, so
 * synops / dense_macs is comparable with the discrete engine's ratio. */
void evsnn_ctime_counts(const evsnn_ctime_t *ct, evsnn_counts_t *out);
/* Bytes the state holds (its one allocation and its header). */
size_t evsnn_ctime_bytes(const evsnn_ctime_t *ct);

#endif
