/* The continuous-time engine: deliveries (time, projection, presynaptic
 * neuron) in one FIFO per projection, merged by (time, target population);
 * the deliveries of one (t, m) bring the neurons they reach from their
 * last exact time to t, are added through the projections' own operations
 * (src/net/proj.h), and the neurons touched are then checked against their
 * threshold (evsnn/ctime.h says why this order matches the discrete
 * engine). Populations reached by a dense or recurrent projection keep one
 * time and decay whole; the others keep one per group of neurons, as the
 * discrete engine keeps one step per group (src/engine/event.c). The leak
 * and the threshold of each neuron model live in src/net/neuron.c.
 *
 * The binary heap that was the per-layer FIFOs' naive twin is gone: it was
 * there to show the FIFOs' order right while that was a new claim, it
 * would have had to learn projections and the checks again to stay a twin,
 * and the order is now pinned by the property test against the discrete
 * engine on random graphs (tests/test_ctime.c); it was also the slower of
 * the two (docs/benchmarks.md).
 *
 * Times: input is refused outside evsnn/time.h's domain [0, 2^61) and the
 * delays (with dt when a delivery waits a step) must add up to less than
 * 2^61, so every delivery and refractory clock is below 2^62 and t + d
 * needs no saturation. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/ctime.h"
#include "evsnn/kernels.h"
#include "net/proj.h"

#define BATCH 1024 /* deliveries per propagate call */
#define MAX_FIFOS (EVSNN_MAX_PROJS + EVSNN_MAX_POPS)

typedef struct fifo_s {
  int64_t *t;       /* NULL: never used */
  uint32_t *i;      /* the presynaptic neuron (a group, for a check again) */
  uint32_t head, n, cap;
} fifo_t;

struct evsnn_ctime_s {
  const evsnn_net_t *net;
  evsnn_ctime_opts_t o;
  int64_t step_us;                     /* dt in whole us: recurrent deliveries and checks again */
  /* [q]: deliveries through projection q; [n_projs + m]: population m's
   * neurons (groups) to check again after a reset by subtraction. */
  fifo_t fifo[MAX_FIFOS];
  uint32_t fifo_pop[MAX_FIFOS];        /* the population a FIFO delivers into */
  uint32_t order[MAX_FIFOS], n_order;  /* the FIFOs in merge order: by population, checks again first */
  int64_t lead[EVSNN_MAX_POPS];        /* a spike of m at t arrives at t + lead[m] at the earliest; -1: nowhere */
  uint32_t first_from_input;           /* the projection whose deliveries count the input events */
  evsnn__leak_t leak[EVSNN_MAX_POPS];
  float *v[EVSNN_MAX_POPS];            /* [m], m >= 1: potentials, pad16 floats */
  int64_t t_v[EVSNN_MAX_POPS];         /* whole populations: v[m] is exact as of t_v[m] */
  int64_t *t_stamp[EVSNN_MAX_POPS];    /* the others: the same per group */
  uint32_t *touched[EVSNN_MAX_POPS];   /* groups touched at the instant being run */
  int64_t *until[EVSNN_MAX_POPS];      /* refractory clocks, per neuron */
  uint32_t *batch, *pooled, *fired;    /* one propagate call's input, pooled; one check's spikes */
  float *count;                        /* a spiking readout's spike counts */
  int64_t t_in;                        /* last input time pushed (INT64_MIN: none) */
  int64_t t_now;                       /* time of the last work done (INT64_MIN: none) */
  int64_t t_first;                     /* first input time (INT64_MIN: none) */
  int32_t decision;                    /* -1 before any delivery reached the readout */
  uint64_t input_events;
  evsnn_counts_t counts;
  size_t bytes;                        /* this header and everything after it: one allocation */
};

/* ------------------------------------------------------------- queue ---- */

static int64_t fifo_head(const fifo_t *f) { return f->t[f->head]; }
static uint32_t fifo_room(const fifo_t *f) { return f->cap - f->n; }

static uint32_t fifo_pop(fifo_t *f) {
  uint32_t i = f->i[f->head];
  if (++f->head == f->cap) f->head = 0;
  f->n--;
  return i;
}

/* The caller checked the room and the order. */
static void fifo_push(fifo_t *f, int64_t t, uint32_t i) {
  uint32_t at = f->head + f->n++;
  if (at >= f->cap) at -= f->cap;
  f->t[at] = t, f->i[at] = i;
}

static int64_t fifo_tail(const fifo_t *f) {
  uint32_t at = f->head + f->n - 1;
  return f->t[at >= f->cap ? at - f->cap : at];
}

/* The next unit of work: 0 if none, else 1 with its time and population. */
static int next_instant(const evsnn_ctime_t *ct, int64_t *t, uint32_t *m) {
  int found = 0;
  for (uint32_t k = 0; k < ct->n_order; k++) {
    const fifo_t *f = &ct->fifo[ct->order[k]];
    if (!f->n) continue;
    int64_t tf = fifo_head(f);
    if (!found || tf < *t) *t = tf, *m = ct->fifo_pop[ct->order[k]], found = 1; /* the lower population on ties */
  }
  return found;
}

uint64_t evsnn_ctime_pending(const evsnn_ctime_t *ct) {
  uint64_t n = 0;
  for (uint32_t k = 0; k < MAX_FIFOS; k++) n += ct->fifo[k].n;
  return n;
}

/* How long after a spike of its source a delivery through pr arrives: the
 * target's delay, and a step more for a recurrent projection. */
static int64_t arrival(const evsnn_ctime_opts_t *o, int64_t step_us, const evsnn_proj_t *pr) {
  return o->delay_us[pr->dst] + (pr->kind == EVSNN_PROJ_RECURRENT ? step_us : 0);
}

/* ------------------------------------------------------------- setup ---- */

static int recheck_needed(const evsnn_pop_t *p) { return p->model != EVSNN_NEURON_LI && p->reset == EVSNN_RESET_SUBTRACT; }

/* Places every array after the header at base (NULL: only sizes them);
 * returns the bytes they take, each 64-byte aligned. */
static size_t layout(evsnn_ctime_t *ct, char *base) {
  const evsnn_net_t *net = ct->net;
  size_t off = 0, fired = 16, reach = 1;
#define CARVE(ptr, type, count)                                         \
  do {                                                                  \
    (ptr) = base ? (type *)(base + off) : NULL;                         \
    off += (sizeof(type) * (size_t)(count) + 63) & ~(size_t)63;         \
  } while (0)
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    size_t groups = p->n / p->group;
    CARVE(ct->v[m], float, p->ld);
    if (!p->whole) {
      CARVE(ct->t_stamp[m], int64_t, groups);
      CARVE(ct->touched[m], uint32_t, groups);
    }
    if (ct->o.refractory_us[m] > 0) CARVE(ct->until[m], int64_t, p->n);
    if (p->model != EVSNN_NEURON_LI && p->n > fired) fired = p->n;
    if (recheck_needed(p)) {
      fifo_t *f = &ct->fifo[net->n_projs + m];
      f->cap = ct->o.queue_cap > groups ? ct->o.queue_cap : (uint32_t)groups;
      CARVE(f->t, int64_t, f->cap);
      CARVE(f->i, uint32_t, f->cap);
    }
  }
  for (uint32_t q = 0; q < net->n_projs; q++) {
    fifo_t *f = &ct->fifo[q];
    f->cap = ct->o.queue_cap;
    CARVE(f->t, int64_t, f->cap);
    CARVE(f->i, uint32_t, f->cap);
    if (evsnn__pool_reach(&net->proj[q]) > reach) reach = evsnn__pool_reach(&net->proj[q]);
  }
  CARVE(ct->batch, uint32_t, BATCH);
  CARVE(ct->pooled, uint32_t, BATCH * reach);
  CARVE(ct->fired, uint32_t, fired);
  CARVE(ct->count, float, evsnn__pad16(evsnn_net_outputs(net)));
#undef CARVE
  return off;
}

/* Checks the options against the graph and fills the derived fields of a
 * header that is not yet allocated. */
static int configure(evsnn_ctime_t *ct, const evsnn_net_t *net, const evsnn_ctime_opts_t *opts) {
  evsnn_ctime_opts_t o = {0};
  if (opts) o = *opts;
  if (o.dt_us == 0) o.dt_us = 1000;
  if (!(o.dt_us > 0) || !isfinite(o.dt_us))
    return evsnn__fail(EVSNN_EINVAL, "continuous time needs a step dt > 0 us, got %g", o.dt_us);
  if (o.delay_us[0] || o.refractory_us[0])
    return evsnn__fail(EVSNN_EINVAL, "continuous time: the input population has no delay or refractory period "
                       "(index 0; delays and refractory periods are per population, from 1)");
  ct->net = net;
  int needs_step = 0;
  uint64_t widest = 1024;
  int64_t delays = 0;
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    if (o.delay_us[m] < 0 || o.refractory_us[m] < 0)
      return evsnn__fail(EVSNN_EINVAL, "continuous time: population %s: negative delay or refractory period", p->name);
    if (o.delay_us[m] >= EVSNN_T_END - delays || o.refractory_us[m] >= EVSNN_T_END)
      return evsnn__fail(EVSNN_EINVAL, "continuous time: population %s: the delays add up to, or the refractory period "
                         "is, 2^61 us or more", p->name);
    if (o.refractory_us[m] && p->model == EVSNN_NEURON_LI)
      return evsnn__fail(EVSNN_EINVAL, "continuous time: population %s never spikes: no refractory period", p->name);
    delays += o.delay_us[m];
    int err = evsnn__leak_init(&ct->leak[m], p, o.dt_us);
    if (err) return err;
    needs_step |= recheck_needed(p);
  }
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    needs_step |= pr->kind == EVSNN_PROJ_RECURRENT;
    if (net->pop[pr->src].n > widest) widest = net->pop[pr->src].n;
  }
  if (needs_step) {
    ct->step_us = llround(o.dt_us);
    if ((double)ct->step_us != o.dt_us || ct->step_us >= EVSNN_T_END - delays)
      return evsnn__fail(EVSNN_EINVAL, "continuous time: dt = %g us: a recurrent projection or a reset by subtraction "
                         "needs a whole number of microseconds (deliveries at t + dt), below 2^61 with the delays",
                         o.dt_us);
  }
  if (o.queue_cap == 0) {
    /* Without delays a FIFO holds at most one instant's deliveries: the
     * input events of one timestamp, or one population's spikes. */
    uint64_t cap = 4 * (widest < 65536 ? widest : 65536);
    for (uint32_t m = 1; m < net->n_pops; m++)
      if (o.delay_us[m] > 0 && cap < 65536) cap = 65536;
    if (needs_step && cap < 65536) cap = 65536;
    o.queue_cap = (uint32_t)cap;
  }
  ct->o = o;
  /* Merge order, and how soon a spike of each population arrives. */
  for (uint32_t m = 0; m < net->n_pops; m++) {
    ct->lead[m] = -1;
    if (m && recheck_needed(&net->pop[m])) ct->fifo_pop[net->n_projs + m] = m, ct->order[ct->n_order++] = net->n_projs + m;
    for (uint32_t q = 0; q < net->n_projs; q++)
      if (net->proj[q].dst == m) ct->fifo_pop[q] = m, ct->order[ct->n_order++] = q;
  }
  ct->first_from_input = UINT32_MAX;
  for (uint32_t q = net->n_projs; q-- > 0;) {
    const evsnn_proj_t *pr = &net->proj[q];
    int64_t lead = arrival(&o, ct->step_us, pr);
    if (ct->lead[pr->src] < 0 || lead < ct->lead[pr->src]) ct->lead[pr->src] = lead;
    if (pr->src == 0) ct->first_from_input = q;
  }
  return 0;
}

int evsnn_ctime_new(evsnn_ctime_t **out, const evsnn_net_t *net, const evsnn_ctime_opts_t *opts) {
  *out = NULL;
  evsnn_ctime_t tmp;
  memset(&tmp, 0, sizeof tmp);
  int err = configure(&tmp, net, opts);
  if (err) return err;
  size_t head = (sizeof tmp + 63) & ~(size_t)63, bytes = head + layout(&tmp, NULL);
  char *mem = evsnn__alloc_aligned(bytes, 1);
  if (!mem) return evsnn__fail(EVSNN_ENOMEM, "continuous-time state (%zu bytes)", bytes);
  evsnn_ctime_t *ct = (evsnn_ctime_t *)mem;
  *ct = tmp;
  layout(ct, mem + head);
  ct->bytes = bytes;
  evsnn_ctime_reset(ct);
  *out = ct;
  return 0;
}

void evsnn_ctime_free(evsnn_ctime_t *ct) { evsnn__free_aligned(ct); }

void evsnn_ctime_reset(evsnn_ctime_t *ct) {
  const evsnn_net_t *net = ct->net;
  for (uint32_t m = 1; m < net->n_pops; m++) {
    const evsnn_pop_t *p = &net->pop[m];
    memset(ct->v[m], 0, sizeof(float) * p->ld);
    /* Zeros are exact at any time; -1 is none, so the first instant, even
     * at t = 0, is a group's first touch and lists it for the check. */
    ct->t_v[m] = -1;
    if (ct->t_stamp[m])
      for (uint32_t g = 0; g < p->n / p->group; g++) ct->t_stamp[m][g] = -1;
    if (ct->until[m]) memset(ct->until[m], 0, sizeof(int64_t) * p->n);
  }
  for (uint32_t k = 0; k < MAX_FIFOS; k++) ct->fifo[k].head = ct->fifo[k].n = 0;
  memset(ct->count, 0, sizeof(float) * evsnn_net_outputs(net));
  ct->t_in = ct->t_now = ct->t_first = INT64_MIN;
  ct->decision = -1;
  ct->input_events = 0;
  memset(&ct->counts, 0, sizeof ct->counts);
}

/* ------------------------------------------------------------- work ----- */

static int queue_full(const evsnn_ctime_t *ct, uint32_t need, uint32_t q, int64_t t) {
  const evsnn_net_t *net = ct->net;
  if (q >= net->n_projs)
    return evsnn__fail(EVSNN_ERANGE, "event queue full: %u checks again of %s at t=%lld us, room for %u", need,
                       net->pop[q - net->n_projs].name, (long long)t, fifo_room(&ct->fifo[q]));
  const evsnn_proj_t *pr = &net->proj[q];
  return evsnn__fail(EVSNN_ERANGE, "event queue full: %u spikes of %s into %s at t=%lld us, room for %u", need,
                     net->pop[pr->src].name, net->pop[pr->dst].name, (long long)t, fifo_room(&ct->fifo[q]));
}

/* Brings every group of a population kept per group to t (a readout read
 * whole for its decision). */
static void exact_at(evsnn_ctime_t *ct, uint32_t m, int64_t t) {
  const evsnn_pop_t *p = &ct->net->pop[m];
  for (uint32_t g = 0; g < p->n / p->group; g++) {
    evsnn__leak(&ct->leak[m], ct->v[m], g * p->group, p->group, t - ct->t_stamp[m][g]);
    ct->t_stamp[m][g] = t;
  }
}

static void decide(evsnn_ctime_t *ct, uint32_t m, int64_t t) {
  const evsnn_pop_t *p = &ct->net->pop[m];
  const float *score = ct->count;
  if (p->model == EVSNN_NEURON_LI) {
    if (!p->whole) exact_at(ct, m, t);
    score = ct->v[m];
  }
  int32_t d = (int32_t)evsnn_argmax(score, p->n);
  if (d != ct->decision) {
    ct->decision = d;
    if (ct->o.on_decision) ct->o.on_decision(ct->o.ud, t, (uint32_t)d);
  }
}

/* Population m's spikes of this instant leave through every projection out
 * of it. */
static int send(evsnn_ctime_t *ct, uint32_t m, int64_t t, uint32_t nf) {
  const evsnn_net_t *net = ct->net;
  for (uint32_t q = 0; q < net->n_projs; q++)
    if (net->proj[q].src == m && nf > fifo_room(&ct->fifo[q])) return queue_full(ct, nf, q, t);
  for (uint32_t s = 0; s < nf; s++)
    if (ct->o.on_spike) ct->o.on_spike(ct->o.ud, t, m, ct->fired[s]);
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->src != m) continue;
    int64_t at = t + arrival(&ct->o, ct->step_us, pr);
    for (uint32_t s = 0; s < nf; s++) fifo_push(&ct->fifo[q], at, ct->fired[s]);
  }
  return 0;
}

/* Every delivery of (t, m): decay what it reaches, add, check, send. */
static int run_instant(evsnn_ctime_t *ct, int64_t t, uint32_t m) {
  const evsnn_net_t *net = ct->net;
  const evsnn_pop_t *p = &net->pop[m];
  float *v = ct->v[m];
  uint32_t n_touched = 0;
  evsnn__target_t tgt = {.v = v};
  if (p->whole) {
    evsnn__leak(&ct->leak[m], v, 0, p->n, t - ct->t_v[m]);
    ct->t_v[m] = t;
  } else {
    tgt.t_stamp = ct->t_stamp[m], tgt.t_now = t, tgt.leak = &ct->leak[m];
    tgt.touched = ct->touched[m], tgt.n_touched = &n_touched, tgt.group = p->group;
  }
  fifo_t *again = &ct->fifo[net->n_projs + m];
  while (again->n && fifo_head(again) == t) {
    uint32_t g = fifo_pop(again);
    if (!p->whole) evsnn__touch_group(&tgt, g);
  }
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    fifo_t *f = &ct->fifo[q];
    if (pr->dst != m) continue;
    while (f->n && fifo_head(f) == t) { /* in the order they were made, BATCH at a time */
      uint32_t n = 0;
      do ct->batch[n++] = fifo_pop(f);
      while (n < BATCH && f->n && fifo_head(f) == t);
      if (q == ct->first_from_input) ct->counts.spikes[0] += n;
      const uint32_t *idx = ct->batch;
      if (pr->pool_k) n = evsnn__pool_spikes(pr, &net->pop[pr->src], idx, n, ct->pooled), idx = ct->pooled;
      ct->counts.synops[q] += pr->ops->propagate(pr, &tgt, idx, n, evsnn__pool_scale(pr));
    }
  }
  ct->t_now = t;
  uint32_t last = net->n_pops - 1;
  if (p->model == EVSNN_NEURON_LI) {
    decide(ct, m, t);
    return 0;
  }
  /* Threshold and reset over what was touched; a neuron left at or above
   * threshold by a subtraction is checked again at t + dt. */
  uint32_t nf = 0, n_checks = p->whole ? 1 : n_touched;
  int64_t *until = ct->until[m], period = ct->o.refractory_us[m];
  for (uint32_t k = 0; k < n_checks; k++) {
    uint32_t g = p->whole ? 0 : tgt.touched[k], first = p->whole ? 0 : g * p->group, n = p->whole ? p->n : p->group;
    int left = until ? evsnn__fire_held(p, v, first, n, until, t, period, ct->fired, &nf)
                     : evsnn__fire(p, v, first, n, ct->fired, &nf);
    if (left) {
      if (!fifo_room(again)) return queue_full(ct, 1, net->n_projs + m, t);
      fifo_push(again, t + ct->step_us, g);
    }
  }
  ct->counts.spikes[m] += nf;
  int err = send(ct, m, t, nf);
  if (!err && m == last) {
    for (uint32_t s = 0; s < nf; s++) ct->count[ct->fired[s]] += 1.0f;
    decide(ct, m, t);
  }
  return err;
}

/* Runs every unit of work strictly earlier than limit (INT64_MAX: all). */
static int run_before(evsnn_ctime_t *ct, int64_t limit) {
  int64_t t = 0;
  uint32_t m = 0;
  while (next_instant(ct, &t, &m) && (t < limit || limit == INT64_MAX)) {
    int err = run_instant(ct, t, m);
    if (err) return err;
  }
  return 0;
}

int evsnn_ctime_inject(evsnn_ctime_t *ct, int64_t t, uint32_t pop, uint32_t neuron) {
  const evsnn_net_t *net = ct->net;
  if (pop >= net->n_pops || ct->lead[pop] < 0 || neuron >= net->pop[pop].n)
    return evsnn__fail(EVSNN_ERANGE, "spike of neuron %u of population %u: the network has %u populations%s%s%s%u",
                       neuron, pop, net->n_pops, pop < net->n_pops ? ", that one " : "",
                       pop < net->n_pops ? net->pop[pop].name : "",
                       pop < net->n_pops ? (ct->lead[pop] < 0 ? " projects nowhere, of size " : " of size ") : "",
                       pop < net->n_pops ? net->pop[pop].n : 0);
  if (!evsnn_time_ok(t))
    return evsnn__fail(EVSNN_ERANGE, "input at t=%lld us, outside the time domain 0 <= t < 2^61 us", (long long)t);
  if (ct->t_in != INT64_MIN && t < ct->t_in)
    return evsnn__fail(EVSNN_EORDER, "input at t=%lld us after one at t=%lld us", (long long)t, (long long)ct->t_in);
  int err = run_before(ct, t + ct->lead[pop]);
  if (err) return err;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->src != pop) continue;
    const fifo_t *f = &ct->fifo[q];
    int64_t at = t + arrival(&ct->o, ct->step_us, pr);
    if (!fifo_room(f))
      return evsnn__fail(EVSNN_ERANGE, "event queue full: %u deliveries into %s pending at t=%lld us", f->cap,
                         net->pop[pr->dst].name, (long long)t);
    if (f->n && fifo_tail(f) > at)
      return evsnn__fail(EVSNN_EORDER, "spike of %s at t=%lld us arrives at %lld us, behind one queued for %lld us "
                         "(feed one population per stream)", net->pop[pop].name, (long long)t, (long long)at,
                         (long long)fifo_tail(f));
  }
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->src == pop)
      fifo_push(&ct->fifo[q], t + arrival(&ct->o, ct->step_us, pr), neuron);
  }
  if (ct->t_first == INT64_MIN) ct->t_first = t;
  ct->t_in = t;
  ct->input_events++;
  return 0;
}

int evsnn_ctime_push(evsnn_ctime_t *ct, int64_t t, uint32_t neuron) {
  if (neuron >= evsnn_net_inputs(ct->net))
    return evsnn__fail(EVSNN_ERANGE, "input neuron %u, the network has %u inputs", neuron, evsnn_net_inputs(ct->net));
  return evsnn_ctime_inject(ct, t, 0, neuron);
}

int evsnn_ctime_advance(evsnn_ctime_t *ct, int64_t t) {
  if (!evsnn_time_ok(t))
    return evsnn__fail(EVSNN_ERANGE, "advance to t=%lld us, outside the time domain 0 <= t < 2^61 us", (long long)t);
  if (ct->t_in != INT64_MIN && t < ct->t_in)
    return evsnn__fail(EVSNN_EORDER, "advance to t=%lld us after input at t=%lld us", (long long)t,
                       (long long)ct->t_in);
  int err = run_before(ct, t + ct->lead[0]);
  if (!err) ct->t_in = t;
  return err;
}

int evsnn_ctime_flush(evsnn_ctime_t *ct) { return run_before(ct, INT64_MAX); }

/* ------------------------------------------------------------- reading -- */

void evsnn_ctime_potentials(const evsnn_ctime_t *ct, uint32_t m, int64_t t, float *out) {
  const evsnn_pop_t *p = &ct->net->pop[m];
  const float *v = ct->v[m];
  uint32_t groups = p->whole ? 1 : p->n / p->group, size = p->whole ? p->n : p->group;
  for (uint32_t g = 0; g < groups; g++) {
    int64_t last = p->whole ? ct->t_v[m] : ct->t_stamp[m][g];
    float f = t > last ? evsnn__leak_factor(&ct->leak[m], t - last) : 1.0f;
    for (uint32_t i = g * size; i < (g + 1) * size; i++) out[i] = v[i] * f;
  }
}

int32_t evsnn_ctime_decision(const evsnn_ctime_t *ct) { return ct->decision; }
uint64_t evsnn_ctime_input_events(const evsnn_ctime_t *ct) { return ct->input_events; }
size_t evsnn_ctime_bytes(const evsnn_ctime_t *ct) { return ct->bytes; }

void evsnn_ctime_counts(const evsnn_ctime_t *ct, evsnn_counts_t *out) {
  const evsnn_net_t *net = ct->net;
  *out = ct->counts;
  uint64_t steps = 0;
  if (ct->t_first != INT64_MIN) steps = (uint64_t)((double)(ct->t_in - ct->t_first) / ct->o.dt_us) + 1;
  out->steps = steps;
  for (uint32_t q = 0; q < net->n_projs; q++) out->dense_macs[q] = steps * net->proj[q].ops->dense_macs(&net->proj[q]);
}
