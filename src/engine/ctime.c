/* The continuous-time engine: deliveries (time, target layer, presynaptic
 * neuron) in a queue ordered by (time, layer, insertion counter); a layer
 * is decayed by exp(-elapsed / tau) when it is touched, receives every
 * delivery of one (time, layer) as column adds, and is then checked against
 * its threshold (evsnn/ctime.h says why this order matches the discrete
 * engine). The queue is one FIFO per target layer, since each layer's
 * deliveries are made in time order; a binary heap is kept as its twin. A
 * calendar queue was not needed: measured with delays, the heap took half
 * the run and the FIFOs' O(1) merge removes that (docs/benchmarks.md).
 *
 * Times: input is refused outside evsnn/time.h's domain [0, 2^61) and init
 * refuses delays adding up to 2^61 or more, so every delivery and refractory
 * clock is below 2^62 and t + d, t + 1 need no saturation: a saturated
 * limit is what once made flush spin forever at t = INT64_MAX. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/ctime.h"
#include "evsnn/kernels.h"

#define BATCH 1024 /* column adds per kernel call */
#define LAYER_SHIFT 56

static int ev_less(const evsnn_ctime_ev_t *a, const evsnn_ctime_ev_t *b) {
  return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void heap_push(evsnn_ctime_t *ct, int64_t t, uint32_t layer, uint32_t neuron) {
  evsnn_ctime_ev_t e = {t, (uint64_t)layer << LAYER_SHIFT | (ct->seq++ & ((1ull << LAYER_SHIFT) - 1)), neuron};
  evsnn_ctime_ev_t *h = ct->heap;
  uint32_t i = ct->heap_n++;
  while (i > 0) {
    uint32_t p = (i - 1) / 2;
    if (!ev_less(&e, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = e;
}

static evsnn_ctime_ev_t heap_pop(evsnn_ctime_t *ct) {
  evsnn_ctime_ev_t *h = ct->heap, top = h[0], last = h[--ct->heap_n];
  uint32_t n = ct->heap_n, i = 0;
  for (;;) {
    uint32_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && ev_less(&h[c + 1], &h[c])) c++;
    if (!ev_less(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  if (n) h[i] = last;
  return top;
}

/* ------------------------------------------------------------- queue ---- */

static uint32_t ring_index(const evsnn_ctime_t *ct, uint32_t m, uint32_t k) {
  uint32_t i = ct->ring_head[m] + k;
  return i >= ct->heap_cap ? i - ct->heap_cap : i;
}

/* The head of the queue: 0 if empty, else 1 with its time and layer. */
static int q_peek(const evsnn_ctime_t *ct, int64_t *t, uint32_t *layer) {
  if (ct->o.queue == EVSNN_QUEUE_HEAP) {
    if (!ct->heap_n) return 0;
    *t = ct->heap[0].t, *layer = (uint32_t)(ct->heap[0].order >> LAYER_SHIFT);
    return 1;
  }
  int found = 0;
  for (uint32_t m = 0; m < ct->net->n_layers; m++) {
    if (!ct->ring_n[m]) continue;
    int64_t tm = ct->ring[m][ct->ring_head[m]].t;
    if (!found || tm < *t) *t = tm, *layer = m + 1, found = 1; /* lower layer first on ties */
  }
  return found;
}

/* Pops the head, known to be a delivery into `layer`. */
static uint32_t q_pop(evsnn_ctime_t *ct, uint32_t layer) {
  if (ct->o.queue == EVSNN_QUEUE_HEAP) return heap_pop(ct).neuron;
  uint32_t m = layer - 1, neuron = ct->ring[m][ct->ring_head[m]].neuron;
  ct->ring_head[m] = ring_index(ct, m, 1);
  ct->ring_n[m]--;
  return neuron;
}

static uint32_t q_room(const evsnn_ctime_t *ct, uint32_t layer) {
  return ct->o.queue == EVSNN_QUEUE_HEAP ? ct->heap_cap - ct->heap_n : ct->heap_cap - ct->ring_n[layer - 1];
}

/* Queues a delivery into `layer` at t; the caller checked the room. */
static void q_push(evsnn_ctime_t *ct, int64_t t, uint32_t layer, uint32_t neuron) {
  if (ct->o.queue == EVSNN_QUEUE_HEAP) return heap_push(ct, t, layer, neuron);
  uint32_t m = layer - 1;
  evsnn_ctime_ev_t *e = &ct->ring[m][ring_index(ct, m, ct->ring_n[m]++)];
  e->t = t, e->order = ct->seq++, e->neuron = neuron;
}

uint64_t evsnn_ctime_pending(const evsnn_ctime_t *ct) {
  uint64_t n = ct->heap_n;
  for (uint32_t m = 0; m < ct->net->n_layers; m++) n += ct->ring_n[m];
  return n;
}

int evsnn_ctime_init(evsnn_ctime_t *ct, const evsnn_net_t *net, const evsnn_ctime_opts_t *opts) {
  memset(ct, 0, sizeof *ct);
  evsnn_ctime_opts_t o = {0};
  if (opts) o = *opts;
  if (o.dt_us == 0) o.dt_us = 1000;
  if (!(o.dt_us > 0) || !(net->beta > 0.0f && net->beta < 1.0f))
    return evsnn__fail(EVSNN_EINVAL, "continuous time needs dt > 0 and beta in (0, 1); got dt %g us, beta %g",
                       o.dt_us, (double)net->beta);
  uint32_t L = net->n_layers, widest = 0;
  int64_t delays = 0;
  for (uint32_t m = 0; m < L; m++) {
    if (o.delay_us[m] < 0 || o.refractory_us[m] < 0)
      return evsnn__fail(EVSNN_EINVAL, "layer %u: negative delay or refractory period", m + 1);
    if (o.delay_us[m] >= EVSNN_T_END - delays || o.refractory_us[m] >= EVSNN_T_END)
      return evsnn__fail(EVSNN_EINVAL, "layer %u: the delays add up to, or the refractory period is, 2^61 us or more",
                         m + 1);
    delays += o.delay_us[m];
    if (net->sizes[m + 1] > widest) widest = net->sizes[m + 1];
  }
  if ((unsigned)o.queue > EVSNN_QUEUE_HEAP) return evsnn__fail(EVSNN_EINVAL, "queue kind %d", (int)o.queue);
  if (o.queue_cap == 0) {
    /* Without delays a FIFO holds at most one instant's deliveries: the
     * input events of one timestamp, or one layer's spikes. */
    uint64_t cap = 1024, any_delay = 0;
    for (uint32_t m = 0; m < L; m++) {
      if (net->sizes[m] > cap) cap = net->sizes[m];
      any_delay |= o.delay_us[m] > 0;
    }
    cap *= 4;
    if (o.queue == EVSNN_QUEUE_HEAP) cap *= L;
    if (any_delay && cap < 65536) cap = 65536;
    o.queue_cap = cap > 0x7fffffff ? 0x7fffffff : (uint32_t)cap;
  }
  uint32_t queues = o.queue == EVSNN_QUEUE_HEAP ? 1 : L;
  /* One allocation: potentials (64-byte multiples), refractory clocks,
   * the heap, then the index scratch. */
  size_t bytes = 0;
  for (uint32_t m = 0; m < L; m++) bytes += sizeof(float) * net->layer[m].ld;
  for (uint32_t m = 0; m + 1 < L; m++)
    if (o.refractory_us[m] > 0) bytes += sizeof(int64_t) * net->sizes[m + 1];
  bytes += sizeof(evsnn_ctime_ev_t) * o.queue_cap * queues;
  bytes += sizeof(uint32_t) * (BATCH + evsnn__pad16(widest));
  ct->mem = evsnn__alloc_aligned(bytes, 1);
  if (!ct->mem) return evsnn__fail(EVSNN_ENOMEM, "continuous-time state (%zu bytes)", bytes);
  char *p = ct->mem;
  for (uint32_t m = 0; m < L; m++, p += sizeof(float) * net->layer[m - 1].ld) ct->v[m] = (float *)p;
  for (uint32_t m = 0; m + 1 < L; m++)
    if (o.refractory_us[m] > 0) {
      ct->ref_until[m] = (int64_t *)p;
      p += sizeof(int64_t) * net->sizes[m + 1];
    }
  for (uint32_t q = 0; q < queues; q++, p += sizeof(evsnn_ctime_ev_t) * o.queue_cap) {
    if (o.queue == EVSNN_QUEUE_HEAP) ct->heap = (evsnn_ctime_ev_t *)p;
    else ct->ring[q] = (evsnn_ctime_ev_t *)p;
  }
  ct->batch = (uint32_t *)p;
  ct->fired = ct->batch + BATCH;
  ct->net = net;
  ct->o = o;
  ct->heap_cap = o.queue_cap;
  ct->tau_us = -o.dt_us / log((double)net->beta);
  evsnn_ctime_reset(ct);
  return 0;
}

void evsnn_ctime_free(evsnn_ctime_t *ct) {
  evsnn__free_aligned(ct->mem);
  memset(ct, 0, sizeof *ct);
}

void evsnn_ctime_reset(evsnn_ctime_t *ct) {
  const evsnn_net_t *net = ct->net;
  for (uint32_t m = 0; m < net->n_layers; m++) {
    memset(ct->v[m], 0, sizeof(float) * net->layer[m].ld);
    ct->t_v[m] = INT64_MIN;
    if (ct->ref_until[m])
      for (uint32_t i = 0; i < net->sizes[m + 1]; i++) ct->ref_until[m][i] = INT64_MIN;
  }
  ct->heap_n = 0;
  memset(ct->ring_head, 0, sizeof ct->ring_head);
  memset(ct->ring_n, 0, sizeof ct->ring_n);
  ct->seq = 0;
  ct->t_in = ct->t_now = ct->t_first = INT64_MIN;
  ct->decision = -1;
  ct->input_events = 0;
  memset(&ct->counts, 0, sizeof ct->counts);
}

/* exp(-elapsed / tau) in double, rounded once to float. */
static float decay_factor(const evsnn_ctime_t *ct, int64_t elapsed) {
  return (float)exp(-(double)elapsed / ct->tau_us);
}

/* Hidden layer m (0-based weight layer) with a refractory period: the
 * neurons still refractory at t lose this instant's input; the others fire
 * as usual. Scalar, since it reads a clock per neuron. */
static uint32_t fire_refractory(evsnn_ctime_t *ct, uint32_t m, int64_t t) {
  const evsnn_layer_t *l = &ct->net->layer[m];
  float *v = ct->v[m];
  int64_t *until = ct->ref_until[m];
  uint32_t n = 0;
  for (uint32_t i = 0; i < l->n_out; i++) {
    if (t < until[i]) {
      v[i] = 0.0f;
    } else if (v[i] >= l->threshold) {
      v[i] = 0.0f;
      until[i] = t + ct->o.refractory_us[m];
      ct->fired[n++] = i;
    }
  }
  return n;
}

/* Runs every delivery strictly earlier than limit. */
static int run_before(evsnn_ctime_t *ct, int64_t limit) {
  const evsnn_net_t *net = ct->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t L = net->n_layers, layer;
  int64_t t;
  while (q_peek(ct, &t, &layer) && t < limit) {
    uint32_t m = layer - 1;
    const evsnn_layer_t *l = &net->layer[m];
    float *v = ct->v[m];
    /* Lazy leak: bring the layer from its last touch to t. */
    if (ct->t_v[m] != INT64_MIN && t > ct->t_v[m]) kern->scale(v, l->n_out, decay_factor(ct, t - ct->t_v[m]));
    ct->t_v[m] = t;
    /* Every delivery of this (t, layer), in insertion order, BATCH at a time. */
    uint64_t delivered = 0;
    int64_t tn;
    uint32_t ln;
    while (q_peek(ct, &tn, &ln) && tn == t && ln == layer) {
      uint32_t n = 0;
      do ct->batch[n++] = q_pop(ct, layer);
      while (n < BATCH && q_peek(ct, &tn, &ln) && tn == t && ln == layer);
      kern->colsum(v, l->W, l->ld, ct->batch, n, l->n_out);
      delivered += n;
    }
    ct->counts.synops[m] += delivered * l->n_out;
    if (m == 0) ct->counts.spikes[0] += delivered;
    ct->t_now = t;
    if (layer < L) {
      uint32_t nf = ct->ref_until[m] ? fire_refractory(ct, m, t) : kern->fire(v, l->n_out, l->threshold, ct->fired);
      ct->counts.spikes[layer] += nf;
      if (nf > q_room(ct, layer + 1))
        return evsnn__fail(EVSNN_ERANGE, "event queue full: %u spikes of layer %u at t=%lld us, room for %u",
                           nf, layer, (long long)t, q_room(ct, layer + 1));
      int64_t at = t + ct->o.delay_us[layer];
      for (uint32_t s = 0; s < nf; s++) {
        if (ct->o.on_spike) ct->o.on_spike(ct->o.ud, t, layer, ct->fired[s]);
        q_push(ct, at, layer + 1, ct->fired[s]);
      }
    } else {
      int32_t d = (int32_t)evsnn_argmax(v, l->n_out);
      if (d != ct->decision) {
        ct->decision = d;
        if (ct->o.on_decision) ct->o.on_decision(ct->o.ud, t, (uint32_t)d);
      }
    }
  }
  return 0;
}

int evsnn_ctime_inject(evsnn_ctime_t *ct, int64_t t, uint32_t layer, uint32_t neuron) {
  const evsnn_net_t *net = ct->net;
  if (layer >= net->n_layers || neuron >= net->sizes[layer])
    return evsnn__fail(EVSNN_ERANGE, "spike of neuron %u of layer %u: the network has %u layers below the output%s%u",
                       neuron, layer, net->n_layers, layer < net->n_layers ? ", that one of size " : "",
                       layer < net->n_layers ? net->sizes[layer] : 0);
  if (!evsnn_time_ok(t))
    return evsnn__fail(EVSNN_ERANGE, "input at t=%lld us, outside the time domain 0 <= t < 2^61 us", (long long)t);
  if (ct->t_in != INT64_MIN && t < ct->t_in)
    return evsnn__fail(EVSNN_EORDER, "input at t=%lld us after one at t=%lld us", (long long)t, (long long)ct->t_in);
  int64_t at = t + ct->o.delay_us[layer];
  int err = run_before(ct, at);
  if (err) return err;
  if (!q_room(ct, layer + 1))
    return evsnn__fail(EVSNN_ERANGE, "event queue full: %u deliveries into layer %u pending at t=%lld us",
                       ct->heap_cap, layer + 1, (long long)t);
  q_push(ct, at, layer + 1, neuron);
  if (ct->t_first == INT64_MIN) ct->t_first = t;
  ct->t_in = t;
  ct->input_events++;
  return 0;
}

int evsnn_ctime_push(evsnn_ctime_t *ct, int64_t t, uint32_t neuron) {
  if (neuron >= ct->net->sizes[0])
    return evsnn__fail(EVSNN_ERANGE, "input neuron %u, the network has %u inputs", neuron, ct->net->sizes[0]);
  return evsnn_ctime_inject(ct, t, 0, neuron);
}

int evsnn_ctime_advance(evsnn_ctime_t *ct, int64_t t) {
  if (!evsnn_time_ok(t))
    return evsnn__fail(EVSNN_ERANGE, "advance to t=%lld us, outside the time domain 0 <= t < 2^61 us", (long long)t);
  if (ct->t_in != INT64_MIN && t < ct->t_in)
    return evsnn__fail(EVSNN_EORDER, "advance to t=%lld us after input at t=%lld us", (long long)t,
                       (long long)ct->t_in);
  int err = run_before(ct, t + ct->o.delay_us[0]);
  if (!err) ct->t_in = t;
  return err;
}

int evsnn_ctime_flush(evsnn_ctime_t *ct) {
  int err = 0;
  int64_t t;
  uint32_t layer;
  while (!err && q_peek(ct, &t, &layer)) err = run_before(ct, t + 1);
  return err;
}

void evsnn_ctime_potentials(const evsnn_ctime_t *ct, uint32_t m, int64_t t, float *out) {
  const float *v = ct->v[m - 1];
  float f = ct->t_v[m - 1] != INT64_MIN && t > ct->t_v[m - 1] ? decay_factor(ct, t - ct->t_v[m - 1]) : 1.0f;
  for (uint32_t i = 0; i < ct->net->sizes[m]; i++) out[i] = v[i] * f;
}

int32_t evsnn_ctime_decision(const evsnn_ctime_t *ct) { return ct->decision; }

void evsnn_ctime_counts(const evsnn_ctime_t *ct, evsnn_counts_t *out) {
  *out = ct->counts;
  uint64_t steps = 0;
  if (ct->t_first != INT64_MIN) steps = (uint64_t)((double)(ct->t_in - ct->t_first) / ct->o.dt_us) + 1;
  out->steps = steps;
  for (uint32_t m = 0; m < ct->net->n_layers; m++)
    out->dense_macs[m] = steps * ct->net->layer[m].n_in * ct->net->layer[m].n_out;
}
