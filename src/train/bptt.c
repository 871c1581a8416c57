/* One training sample: forward with a sparse trace, then backward through
 * time (see evsnn/train.h for the equations and the reset convention). */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "evsnn/train.h"

int evsnn_trainer_init(evsnn_trainer_t *tr, const evsnn_net_t *net, uint32_t T, evsnn_grad_t grad) {
  memset(tr, 0, sizeof *tr);
  if (T < 1) return evsnn__fail(EVSNN_EINVAL, "trainer: %u steps", T);
  uint32_t L = net->n_layers;
  size_t widest = 0, floats = net->n_params, words = 0;
  for (uint32_t m = 0; m < L; m++) {
    size_t ld = net->layer[m].ld;
    floats += ld + 2 * (size_t)T * ld;
    words += (size_t)T * net->sizes[m] + T + 1;
    if (evsnn__pad16(net->sizes[m]) > widest) widest = evsnn__pad16(net->sizes[m]);
  }
  floats += widest;
  /* Word lists come after the floats; keep them 64-byte aligned too. */
  floats = evsnn__pad16(floats);
  tr->mem = evsnn__alloc_aligned(floats + words, sizeof(float));
  if (!tr->mem) return evsnn__fail(EVSNN_ENOMEM, "trainer: %zu floats of trace", floats + words);
  tr->net = net;
  tr->T = T;
  tr->grad = grad;
  float *p = tr->mem;
  tr->dW = p, p += net->n_params;
  for (uint32_t m = 0; m < L; m++) {
    size_t ld = net->layer[m].ld;
    tr->v[m] = p, p += ld;
    tr->fprime[m] = p, p += (size_t)T * ld;
    tr->delta[m] = p, p += (size_t)T * ld;
  }
  tr->g = p;
  uint32_t *q = (uint32_t *)(tr->mem + floats);
  for (uint32_t m = 0; m < L; m++) {
    tr->spikes[m] = q, q += (size_t)T * net->sizes[m];
    tr->start[m] = q, q += T + 1;
  }
  return 0;
}

void evsnn_trainer_free(evsnn_trainer_t *tr) {
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
      for (uint32_t i = 0; i < l->n_out; i++) v[i] *= net->beta;
      kern->colsum(v, l->W, l->ld, tr->spikes[m] + tr->start[m][k], n_pre, l->n_out);
      tr->counts.synops[m] += (uint64_t)n_pre * l->n_out;
      tr->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out;
      if (m + 1 == L) break;
      float *fp = tr->fprime[m] + (size_t)k * l->ld, s = l->threshold;
      uint32_t *out = tr->spikes[m + 1] + tr->start[m + 1][k], ns = 0;
      for (uint32_t i = 0; i < l->n_out; i++) {
        fp[i] = expf(-fabsf(v[i] - s)); /* surrogate f'(u - s), (13) */
        if (v[i] >= s) out[ns++] = i, v[i] = 0.0f;
      }
      tr->start[m + 1][k + 1] = tr->start[m + 1][k] + ns;
      tr->counts.spikes[m + 1] += ns;
    }
  }
  tr->counts.steps += tr->T;
}

float evsnn_trainer_sample(evsnn_trainer_t *tr, const evsnn_input_t *in, uint32_t label, float scale,
                           uint32_t *pred) {
  const evsnn_net_t *net = tr->net;
  const evsnn_kernels_t *kern = evsnn_kernels();
  uint32_t L = net->n_layers, T = tr->T, n_out = net->sizes[L];
  forward(tr, in);

  /* Softmax cross-entropy on the output potentials at the last step (10-12). */
  const float *u = tr->v[L - 1];
  float umax = u[0], z = 0.0f;
  for (uint32_t i = 1; i < n_out; i++) umax = fmaxf(umax, u[i]);
  for (uint32_t i = 0; i < n_out; i++) z += expf(u[i] - umax);
  float loss = logf(z) - (u[label] - umax);
  *pred = evsnn_argmax(u, n_out);

  /* Delta^M[k] = beta^(T-1-k) (P - onehot): the output layer leaks but never
   * resets, so its step-k input reaches the scores scaled by that power. */
  uint32_t ldM = net->layer[L - 1].ld;
  float *dM = tr->delta[L - 1];
  for (uint32_t i = 0; i < n_out; i++) dM[(size_t)(T - 1) * ldM + i] = scale * (expf(u[i] - umax) / z - (i == label));
  for (uint32_t k = T - 1; k-- > 0;)
    for (uint32_t i = 0; i < n_out; i++) dM[(size_t)k * ldM + i] = net->beta * dM[(size_t)(k + 1) * ldM + i];

  for (uint32_t m = L; m-- > 0;) {
    const evsnn_layer_t *l = &net->layer[m];
    float *dW = tr->dW + l->offset;
    const evsnn_layer_t *below = m ? &net->layer[m - 1] : NULL;
    for (uint32_t k = T; k-- > 0;) {
      const float *delta = tr->delta[m] + (size_t)k * l->ld;
      const uint32_t *pre = tr->spikes[m] + tr->start[m][k];
      uint32_t n_pre = tr->start[m][k + 1] - tr->start[m][k];
      kern->colscatter(dW, l->ld, pre, n_pre, delta, l->n_out); /* (7) */
      if (!below) continue; /* layer 1: no input-side Delta */
      /* g = (W^m)^T Delta^m[k] = dL/db^{m-1}[k]; then (8) and the BPTT carry. */
      kern->coldot(tr->g, l->W, l->ld, l->n_in, delta, l->n_out);
      float *d = tr->delta[m - 1] + (size_t)k * below->ld;
      const float *fp = tr->fprime[m - 1] + (size_t)k * below->ld;
      if (tr->grad == EVSNN_GRAD_BPTT && k + 1 < T) {
        const float *next = d + below->ld;
        for (uint32_t i = 0; i < below->n_out; i++) d[i] = fp[i] * tr->g[i] + net->beta * next[i];
        /* A neuron that spiked at k was reset: no carry through it. */
        for (uint32_t s = tr->start[m][k]; s < tr->start[m][k + 1]; s++) {
          uint32_t i = tr->spikes[m][s];
          d[i] = fp[i] * tr->g[i];
        }
      } else {
        for (uint32_t i = 0; i < below->n_out; i++) d[i] = fp[i] * tr->g[i];
      }
    }
  }
  return loss;
}
