/* One training sample: forward with a sparse trace, then backward through
 * time (see evsnn/train.h for the equations and the reset convention). */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/train.h"
#include "train/train_impl.h"

int evsnn_trainer_init(evsnn_trainer_t *tr, const evsnn_net_t *net, uint32_t T, evsnn_grad_t grad,
                       evsnn_engine_t engine) {
  memset(tr, 0, sizeof *tr);
  if (T < 1) return evsnn__fail(EVSNN_EINVAL, "trainer: %u steps", T);
  uint32_t L = net->n_layers;
  size_t widest = 0, floats = net->n_params, words = 0, widest_in = 0;
  for (uint32_t m = 0; m < L; m++) {
    size_t ld = net->layer[m].ld;
    floats += ld + 2 * (size_t)T * ld;
    if (engine != EVSNN_ENGINE_EVENT) floats += (size_t)T * evsnn__pad16(net->sizes[m]);
    words += (size_t)T * net->sizes[m] + T + 1;
    if (evsnn__pad16(net->sizes[m]) > widest) widest = evsnn__pad16(net->sizes[m]);
    if (net->sizes[m] > widest_in) widest_in = net->sizes[m];
  }
  floats += (size_t)T * widest;
  words += widest_in + 1 + (size_t)T * widest_in;
  /* Word lists come after the floats; keep them 64-byte aligned too. */
  floats = evsnn__pad16(floats);
  tr->mem = evsnn__alloc_aligned(floats + words, sizeof(float));
  if (!tr->mem) return evsnn__fail(EVSNN_ENOMEM, "trainer: %zu floats of trace", floats + words);
  tr->net = net;
  tr->T = T;
  tr->grad = grad;
  tr->engine = engine;
  if (engine != EVSNN_ENGINE_EVENT) evsnn__blas_one_thread();
  float *p = tr->mem;
  tr->dW = p, p += net->n_params;
  for (uint32_t m = 0; m < L; m++) {
    size_t ld = net->layer[m].ld;
    tr->v[m] = p, p += ld;
    tr->fprime[m] = p, p += (size_t)T * ld;
    tr->delta[m] = p, p += (size_t)T * ld;
    if (engine != EVSNN_ENGINE_EVENT) tr->raster[m] = p, p += (size_t)T * evsnn__pad16(net->sizes[m]);
  }
  tr->g = p;
  tr->cutoff = INFINITY;
  uint32_t *q = (uint32_t *)(tr->mem + floats);
  for (uint32_t m = 0; m < L; m++) {
    tr->spikes[m] = q, q += (size_t)T * net->sizes[m];
    tr->start[m] = q, q += T + 1;
  }
  tr->pre_start = q, q += widest_in + 1;
  tr->pre_steps = q;
  return 0;
}

void evsnn_trainer_free(evsnn_trainer_t *tr) {
  evsnn__batch_free(tr);
  evsnn__free_aligned(tr->mem);
  memset(tr, 0, sizeof *tr);
}

/* Forward (3)-(6) for T steps, recording spikes and f'(u - s). */
static void forward(evsnn_trainer_t *tr, const evsnn_input_t *input) {
  const evsnn_net_t *net = tr->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t L = net->n_layers;
  for (uint32_t m = 0; m < L; m++) {
    memset(tr->v[m], 0, sizeof(float) * net->layer[m].ld);
    tr->start[m][0] = 0;
  }
  for (uint32_t k = 0; k < tr->T; k++) {
    uint32_t *in = tr->spikes[0] + tr->start[0][k];
    uint32_t n_in = evsnn_input_step(input, k, in);
    tr->start[0][k + 1] = tr->start[0][k] + n_in;
    tr->counts.spikes[0] += n_in;
    for (uint32_t m = 0; m < L; m++) {
      const evsnn_layer_t *l = &net->layer[m];
      float *v = tr->v[m];
      uint32_t n_pre = tr->start[m][k + 1] - tr->start[m][k];
      kern->scale(v, l->n_out, net->beta);
      kern->colsum(v, l->W, l->ld, tr->spikes[m] + tr->start[m][k], n_pre, l->n_out);
      tr->counts.synops[m] += (uint64_t)n_pre * l->n_out;
      tr->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out;
      if (m + 1 == L) break;
      /* f'(u - s) of the pre-reset potential (13), then spike and reset (5, 6). */
      kern->surrogate(tr->fprime[m] + (size_t)k * l->ld, v, l->n_out, l->threshold, tr->cutoff);
      uint32_t ns = kern->fire(v, l->n_out, l->threshold, tr->spikes[m + 1] + tr->start[m + 1][k]);
      tr->start[m + 1][k + 1] = tr->start[m + 1][k] + ns;
      tr->counts.spikes[m + 1] += ns;
    }
  }
  tr->counts.steps += tr->T;
}

/* dW^m += sum_k Delta^m[k] (b^{m-1}[k])^T (7), over the presynaptic spikes
 * only. The spike lists are first regrouped by neuron (a counting sort), so
 * that each touched column of dW is read and written once, with the
 * Delta rows of all the steps it spiked in summed in registers: colsum
 * with the Delta rows as the columns. */
static void weight_gradient(evsnn_trainer_t *tr, uint32_t m) {
  const evsnn_layer_t *l = &tr->net->layer[m];
  const uint32_t *spikes = tr->spikes[m], *start = tr->start[m];
  uint32_t *first = tr->pre_start, *steps = tr->pre_steps, T = tr->T;
  memset(first, 0, sizeof(uint32_t) * (l->n_in + 1));
  for (uint32_t s = 0; s < start[T]; s++) first[spikes[s] + 1]++;
  for (uint32_t j = 0; j < l->n_in; j++) first[j + 1] += first[j];
  /* first[j] is now where neuron j's steps go; advancing it while filling
   * leaves first[j] at the start of neuron j + 1's. */
  for (uint32_t k = 0; k < T; k++)
    for (uint32_t s = start[k]; s < start[k + 1]; s++) steps[first[spikes[s]]++] = k;
  const evsnn_kernels_t *kern = evsnn_kernels();
  float *dW = tr->dW + l->offset;
  for (uint32_t j = 0, begin = 0; j < l->n_in; begin = first[j++])
    if (first[j] > begin) kern->colsum(dW + (size_t)j * l->ld, tr->delta[m], l->ld, steps + begin, first[j] - begin, l->n_out);
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

float evsnn_trainer_sample(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label, float scale,
                           uint32_t *pred) {
  const evsnn_net_t *net = tr->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t L = net->n_layers, T = tr->T, n_out = net->sizes[L];
  if (tr->engine != EVSNN_ENGINE_EVENT)
    evsnn__dense_forward(tr, in);
  else
    forward(tr, in);

  uint32_t ldM = net->layer[L - 1].ld;
  float loss = evsnn__output_delta(tr->v[L - 1], n_out, label, scale, net->beta, T, tr->delta[L - 1], ldM, pred);

  if (tr->engine != EVSNN_ENGINE_EVENT) {
    evsnn__dense_backward(tr);
    return loss;
  }
  for (uint32_t m = L; m-- > 0;) {
    const evsnn_layer_t *l = &net->layer[m];
    weight_gradient(tr, m);
    if (!m) break; /* layer 1: no input-side Delta */
    /* g[k] = (W^m)^T Delta^m[k] = dL/db^{m-1}[k] for every step at once; then
     * (8) and, in BPTT mode, the carry back in time. */
    const evsnn_layer_t *below = &net->layer[m - 1];
    if (m + 1 == L) {
      /* Delta^M[k] is Delta^M[T-1] times beta^(T-1-k), so g[k] is too:
       * one W^T Delta, then a scaling per step. */
      float *gT = tr->g + (size_t)(T - 1) * below->ld;
      kern->coldot(gT, l->W, l->ld, l->n_in, tr->delta[m] + (size_t)(T - 1) * l->ld, l->n_out);
      for (uint32_t k = T - 1; k-- > 0;)
        for (uint32_t i = 0; i < below->n_out; i++) tr->g[(size_t)k * below->ld + i] = net->beta * tr->g[(size_t)(k + 1) * below->ld + i];
    } else {
      kern->coldot_steps(tr->g, below->ld, l->W, l->ld, l->n_in, tr->delta[m], l->ld, T, l->n_out);
    }
    for (uint32_t k = T; k-- > 0;) {
      float *d = tr->delta[m - 1] + (size_t)k * below->ld;
      const float *fp = tr->fprime[m - 1] + (size_t)k * below->ld, *g = tr->g + (size_t)k * below->ld;
      if (tr->grad == EVSNN_GRAD_BPTT && k + 1 < T) {
        const float *next = d + below->ld;
        for (uint32_t i = 0; i < below->n_out; i++) d[i] = fp[i] * g[i] + net->beta * next[i];
        /* A neuron that spiked at k was reset: no carry through it. */
        for (uint32_t s = tr->start[m][k]; s < tr->start[m][k + 1]; s++) {
          uint32_t i = tr->spikes[m][s];
          d[i] = fp[i] * g[i];
        }
      } else {
        for (uint32_t i = 0; i < below->n_out; i++) d[i] = fp[i] * g[i];
      }
    }
  }
  return loss;
}
