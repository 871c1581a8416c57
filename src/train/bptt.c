/* One training sample: forward with a sparse trace, then backward through
 * time over the graph (see evsnn/train.h for the equations and the reset
 * convention). The backward pass is written once: each projection's W^T
 * Delta and dW come from its table of operations (src/net/proj.h), the
 * event versions or, for the dense trainer, their dense twins. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "net/proj.h"
#include "train/train_impl.h"

/* The trace's sizes, in floats and words. */
typedef struct {
  size_t widest_pop, widest_in, lists, sort, scratch;
} sizes_t;

static sizes_t trace_sizes(const evsnn_net_t *net, uint32_t T) {
  sizes_t z = {16, 16, 16, 16, 16};
  for (uint32_t m = 0; m < net->n_pops; m++)
    if (net->pop[m].ld > z.widest_pop) z.widest_pop = net->pop[m].ld;
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *p = &net->proj[q];
    size_t lists = (size_t)T * net->pop[p->src].n * evsnn__pool_reach(p);
    if (evsnn__pad16(p->n_in) > z.widest_in) z.widest_in = evsnn__pad16(p->n_in);
    if (lists > z.lists) z.lists = lists;
    if (p->n_in + 1 + lists > z.sort) z.sort = p->n_in + 1 + lists;
    if (p->ops->dense_scratch(p) > z.scratch) z.scratch = p->ops->dense_scratch(p);
  }
  return z;
}

int evsnn_trainer_new(evsnn_trainer_t **out, const evsnn_net_t *net, uint32_t T, evsnn_grad_t grad,
                      evsnn_engine_t engine) {
  *out = NULL;
  if (T < 1) return evsnn__fail(EVSNN_EINVAL, "trainer: %u steps", T);
  if (evsnn_net_out(net)->model != EVSNN_NEURON_LI)
    return evsnn__fail(EVSNN_EINVAL, "trainer: the readout %s spikes; training needs an LI readout", evsnn_net_out(net)->name);
  if (engine == EVSNN_ENGINE_DENSE_BATCH && !net->n_layers)
    return evsnn__fail(EVSNN_EINVAL, "trainer: dense-batch trains fully connected chains only");
  uint32_t P = net->n_pops;
  sizes_t z = trace_sizes(net, T);
  size_t floats = evsnn__pad16(net->n_params), words = 0;
  for (uint32_t m = 0; m < P; m++) {
    size_t ld = net->pop[m].ld;
    if (m) floats += ld + 2 * (size_t)T * ld; /* v, fprime, delta */
    if (engine != EVSNN_ENGINE_EVENT) floats += (size_t)T * ld;
    if (m + 1 < P) words += evsnn__pad16((size_t)T * net->pop[m].n + T + 1);
  }
  floats += (size_t)T * (z.widest_pop + z.widest_in) + evsnn__pad16(z.scratch);
  words += evsnn__pad16(z.lists) + evsnn__pad16(T + 1) + evsnn__pad16(z.sort);
  evsnn_trainer_t *tr = calloc(1, sizeof *tr);
  if (tr) tr->mem = evsnn__alloc_aligned(floats + words, sizeof(float));
  if (!tr || !tr->mem) {
    free(tr);
    return evsnn__fail(EVSNN_ENOMEM, "trainer: %zu floats of trace", floats + words);
  }
  tr->net = net;
  tr->T = T;
  tr->grad = grad;
  tr->engine = engine;
  tr->cutoff = INFINITY;
  if (engine != EVSNN_ENGINE_EVENT) evsnn__blas_one_thread();
  float *p = tr->mem;
  tr->dW = p, p += evsnn__pad16(net->n_params);
  for (uint32_t m = 0; m < P; m++) {
    size_t ld = net->pop[m].ld;
    if (m) {
      tr->v[m - 1] = p, p += ld;
      tr->fprime[m - 1] = p, p += (size_t)T * ld;
      tr->delta[m - 1] = p, p += (size_t)T * ld;
    }
    if (engine != EVSNN_ENGINE_EVENT) tr->raster[m] = p, p += (size_t)T * ld;
  }
  tr->g = p, p += (size_t)T * z.widest_pop;
  tr->gq = p, p += (size_t)T * z.widest_in;
  tr->scratch = p, p += evsnn__pad16(z.scratch);
  uint32_t *q = (uint32_t *)p;
  for (uint32_t m = 0; m + 1 < P; m++) {
    tr->spikes[m] = q;
    tr->start[m] = q + (size_t)T * net->pop[m].n;
    q += evsnn__pad16((size_t)T * net->pop[m].n + T + 1);
  }
  tr->lists = q, q += evsnn__pad16(z.lists);
  tr->lists_start = q, q += evsnn__pad16(T + 1);
  tr->sort = q;
  *out = tr;
  return 0;
}

void evsnn_trainer_free(evsnn_trainer_t *tr) {
  if (!tr) return;
  evsnn__batch_free(tr);
  evsnn__free_aligned(tr->mem);
  free(tr);
}

void evsnn_trainer_set_cutoff(evsnn_trainer_t *tr, float cutoff) { tr->cutoff = cutoff; }
float *evsnn_trainer_grad(evsnn_trainer_t *tr) { return tr->dW; }
const evsnn_counts_t *evsnn_trainer_counts(const evsnn_trainer_t *tr) { return &tr->counts; }

const uint32_t *evsnn_trainer_spikes(const evsnn_trainer_t *tr, uint32_t m, uint32_t k, uint32_t *n) {
  *n = tr->start[m][k + 1] - tr->start[m][k];
  return tr->spikes[m] + tr->start[m][k];
}

const float *evsnn_trainer_fprime(const evsnn_trainer_t *tr, uint32_t m, uint32_t k) {
  return tr->fprime[m - 1] + (size_t)k * tr->net->pop[m].ld;
}

/* Projection pr's presynaptic spikes of step k: its source's (the
 * previous step's for a recurrent one), as recorded. */
static const uint32_t *pre_spikes(const evsnn_trainer_t *tr, const evsnn_proj_t *pr, uint32_t k, uint32_t *n) {
  if (pr->kind == EVSNN_PROJ_RECURRENT && k == 0) return *n = 0, tr->spikes[pr->src];
  uint32_t kk = pr->kind == EVSNN_PROJ_RECURRENT ? k - 1 : k;
  *n = tr->start[pr->src][kk + 1] - tr->start[pr->src][kk];
  return tr->spikes[pr->src] + tr->start[pr->src][kk];
}

/* Forward (3)-(6) for T steps, recording spikes and f'(u - s). Every
 * population is brought up to date every step: the backward pass needs
 * f' of every neuron, touched or not. */
static void forward(evsnn_trainer_t *tr, const evsnn_input_t *input) {
  const evsnn_net_t *net = tr->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t P = net->n_pops;
  for (uint32_t m = 1; m < P; m++) memset(tr->v[m - 1], 0, sizeof(float) * net->pop[m].ld);
  for (uint32_t m = 0; m + 1 < P; m++) tr->start[m][0] = 0;
  for (uint32_t k = 0; k < tr->T; k++) {
    uint32_t *in = tr->spikes[0] + tr->start[0][k];
    uint32_t n_in = evsnn_input_step(input, k, in);
    tr->start[0][k + 1] = tr->start[0][k] + n_in;
    tr->counts.spikes[0] += n_in;
    for (uint32_t m = 1; m < P; m++) {
      const evsnn_pop_t *pop = &net->pop[m];
      float *v = tr->v[m - 1];
      kern->scale(v, pop->n, pop->beta);
      evsnn__target_t tgt = {.v = v};
      for (uint32_t q = 0; q < net->n_projs; q++) {
        const evsnn_proj_t *pr = &net->proj[q];
        if (pr->dst != m) continue;
        uint32_t n;
        const uint32_t *idx = pre_spikes(tr, pr, k, &n);
        if (pr->pool_k) n = evsnn__pool_spikes(pr, &net->pop[pr->src], idx, n, tr->lists), idx = tr->lists;
        tr->counts.synops[q] += pr->ops->propagate(pr, &tgt, idx, n, evsnn__pool_scale(pr));
        tr->counts.dense_macs[q] += pr->ops->dense_macs(pr);
      }
      if (m + 1 == P) break;
      /* f'(u - s) of the pre-reset potential (13), then spike and reset (5, 6). */
      kern->surrogate(tr->fprime[m - 1] + (size_t)k * pop->ld, v, pop->n, pop->threshold, tr->cutoff);
      uint32_t ns = 0;
      evsnn__fire(pop, v, 0, pop->n, tr->spikes[m] + tr->start[m][k], &ns);
      tr->start[m][k + 1] = tr->start[m][k] + ns;
      tr->counts.spikes[m] += ns;
    }
  }
  tr->counts.steps += tr->T;
}

float evsnn__output_delta(const float *u, uint32_t n_out, uint32_t label, float scale, float beta, uint32_t T,
                          float *delta, size_t stride, uint32_t *pred) {
  /* Softmax cross-entropy on the output potentials at the last step (10-12). */
  float umax = u[0], z = 0.0f;
  for (uint32_t i = 1; i < n_out; i++) umax = fmaxf(umax, u[i]);
  for (uint32_t i = 0; i < n_out; i++) z += expf(u[i] - umax);
  *pred = evsnn_argmax(u, n_out);
  /* Delta^M[k] = beta^(T-1-k) (P - onehot): the output layer leaks but never
   * resets, so its step-k input reaches the scores scaled by that power. */
  for (uint32_t i = 0; i < n_out; i++) delta[(size_t)(T - 1) * stride + i] = scale * (expf(u[i] - umax) / z - (i == label));
  for (uint32_t k = T - 1; k-- > 0;)
    for (uint32_t i = 0; i < n_out; i++) delta[(size_t)k * stride + i] = beta * delta[(size_t)(k + 1) * stride + i];
  return logf(z) - (u[label] - umax);
}

/* g = dL/db^m for every step: the W^T Delta of every feedforward
 * projection out of m, through its pooling (the recurrent one is added
 * step by step in population_delta). Into the readout, Delta^M[k] is
 * Delta^M[T-1] times beta^(T-1-k), so W^T Delta is too: one product, then
 * a scaling per step. */
static void input_gradient(evsnn_trainer_t *tr, uint32_t m) {
  const evsnn_net_t *net = tr->net;
  const evsnn_pop_t *pop = &net->pop[m];
  uint32_t T = tr->T, outgoing = 0, M = net->n_pops - 1;
  int dense = tr->engine != EVSNN_ENGINE_EVENT, direct = 0;
  for (uint32_t q = 0; q < net->n_projs; q++)
    if (net->proj[q].src == m && net->proj[q].dst != m) outgoing++, direct = !net->proj[q].pool_k;
  /* One projection with no pooling writes dL/db directly; else they add up. */
  direct = direct && outgoing == 1;
  if (!direct) memset(tr->g, 0, sizeof(float) * T * pop->ld);
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->src != m || pr->dst == m) continue;
    const evsnn_pop_t *tgt = &net->pop[pr->dst];
    float *g = direct ? tr->g : tr->gq, a = evsnn__pool_scale(pr);
    size_t ldg = direct ? pop->ld : evsnn__pad16(pr->n_in);
    const float *delta = tr->delta[pr->dst - 1];
    if (dense) {
      for (uint32_t k = 0; k < T; k++)
        pr->ops->input_grad_dense(pr, g + k * ldg, delta + (size_t)k * tgt->ld, a, tr->scratch);
    } else if (pr->dst == M && T > 1) {
      float *gT = g + (size_t)(T - 1) * ldg;
      pr->ops->input_grad(pr, gT, ldg, delta + (size_t)(T - 1) * tgt->ld, tgt->ld, 1, a);
      for (uint32_t k = T - 1; k-- > 0;)
        for (uint32_t i = 0; i < pr->n_in; i++) g[(size_t)k * ldg + i] = tgt->beta * g[(size_t)(k + 1) * ldg + i];
    } else {
      pr->ops->input_grad(pr, g, ldg, delta, tgt->ld, T, a);
    }
    if (direct) return;
    for (uint32_t k = 0; k < T; k++) evsnn__unpool(pr, pop, g + k * ldg, tr->g + (size_t)k * pop->ld);
  }
}

/* Delta^m[k] from g (8), with the recurrent term and, in BPTT mode, the
 * carry back in time, from the last step down. */
static void population_delta(evsnn_trainer_t *tr, uint32_t m) {
  const evsnn_net_t *net = tr->net;
  const evsnn_pop_t *pop = &net->pop[m];
  const evsnn_proj_t *rec = NULL;
  for (uint32_t q = 0; q < net->n_projs; q++)
    if (net->proj[q].kind == EVSNN_PROJ_RECURRENT && net->proj[q].dst == m) rec = &net->proj[q];
  int dense = tr->engine != EVSNN_ENGINE_EVENT, bptt = tr->grad == EVSNN_GRAD_BPTT;
  uint32_t T = tr->T, ld = pop->ld;
  for (uint32_t k = T; k-- > 0;) {
    float *d = tr->delta[m - 1] + (size_t)k * ld, *g = tr->g + (size_t)k * ld;
    const float *fp = tr->fprime[m - 1] + (size_t)k * ld, *next = d + ld;
    if (rec && k + 1 < T) { /* b^m[k] reaches population m again at k + 1 */
      float *gr = tr->gq;
      if (dense)
        rec->ops->input_grad_dense(rec, gr, next, 1.0f, tr->scratch);
      else
        rec->ops->input_grad(rec, gr, ld, next, ld, 1, 1.0f);
      for (uint32_t i = 0; i < pop->n; i++) g[i] += gr[i];
    }
    if (dense) {
      const float *b = tr->raster[m] + (size_t)k * ld;
      for (uint32_t i = 0; i < pop->n; i++) {
        d[i] = fp[i] * g[i]; /* (8) */
        if (bptt && k + 1 < T) /* the carry, gated by a reset to zero */
          d[i] += pop->beta * (pop->reset == EVSNN_RESET_ZERO ? 1.0f - b[i] : 1.0f) * next[i];
      }
    } else if (bptt && k + 1 < T) {
      for (uint32_t i = 0; i < pop->n; i++) d[i] = fp[i] * g[i] + pop->beta * next[i];
      /* A neuron that spiked at k and was reset to zero: no carry through it. */
      if (pop->reset == EVSNN_RESET_ZERO)
        for (uint32_t s = tr->start[m][k]; s < tr->start[m][k + 1]; s++) {
          uint32_t i = tr->spikes[m][s];
          d[i] = fp[i] * g[i];
        }
    } else {
      for (uint32_t i = 0; i < pop->n; i++) d[i] = fp[i] * g[i];
    }
  }
}

/* dW += sum_k Delta^m[k] (b^src[k])^T (7) for every projection into m. */
static void weight_gradients(evsnn_trainer_t *tr, uint32_t m) {
  const evsnn_net_t *net = tr->net;
  const evsnn_pop_t *pop = &net->pop[m];
  uint32_t T = tr->T;
  const float *delta = tr->delta[m - 1];
  for (uint32_t q = 0; q < net->n_projs; q++) {
    const evsnn_proj_t *pr = &net->proj[q];
    if (pr->dst != m || !pr->size) continue;
    const evsnn_pop_t *src = &net->pop[pr->src];
    float *dW = tr->dW + pr->offset, a = evsnn__pool_scale(pr);
    if (tr->engine != EVSNN_ENGINE_EVENT) { /* from the last step down, as 0.1.0 summed */
      for (uint32_t k = T; k-- > 0;) {
        if (pr->kind == EVSNN_PROJ_RECURRENT && k == 0) continue;
        const float *b = tr->raster[pr->src] + (size_t)(pr->kind == EVSNN_PROJ_RECURRENT ? k - 1 : k) * src->ld;
        if (pr->pool_k) evsnn__pool_dense(pr, src, b, tr->gq), b = tr->gq;
        pr->ops->weight_grad_dense(pr, dW, delta + (size_t)k * pop->ld, b, a, tr->scratch);
      }
      continue;
    }
    const uint32_t *idx = tr->spikes[pr->src], *start = tr->start[pr->src];
    if (pr->pool_k || pr->kind == EVSNN_PROJ_RECURRENT) { /* lists in the projection's input space, by step */
      tr->lists_start[0] = 0;
      for (uint32_t k = 0; k < T; k++) {
        uint32_t n;
        const uint32_t *pre = pre_spikes(tr, pr, k, &n);
        tr->lists_start[k + 1] = tr->lists_start[k] + evsnn__pool_spikes(pr, src, pre, n, tr->lists + tr->lists_start[k]);
      }
      idx = tr->lists, start = tr->lists_start;
    }
    pr->ops->weight_grad(pr, dW, delta, pop->ld, idx, start, T, a, tr->sort);
  }
}

void evsnn__backward(evsnn_trainer_t *tr) {
  const evsnn_net_t *net = tr->net;
  for (uint32_t m = net->n_pops - 1; m >= 1; m--) {
    if (m + 1 < net->n_pops) {
      input_gradient(tr, m);
      population_delta(tr, m);
    }
    weight_gradients(tr, m);
  }
}

float evsnn_trainer_sample(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label, float scale,
                           uint32_t *pred) {
  const evsnn_net_t *net = tr->net;
  const evsnn_pop_t *out = evsnn_net_out(net);
  if (tr->engine != EVSNN_ENGINE_EVENT)
    evsnn__dense_forward(tr, in);
  else
    forward(tr, in);
  float loss = evsnn__output_delta(tr->v[net->n_pops - 2], out->n, label, scale, out->beta, tr->T,
                                   tr->delta[net->n_pops - 2], out->ld, pred);
  evsnn__backward(tr);
  return loss;
}
