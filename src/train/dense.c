/* The dense trainer: the same forward and backward as bptt.c, written
 * plainly on dense 0/1 spike rasters with CBLAS, as a framework would run
 * them. It is the reference the event trainer's gradients are tested
 * against, and the baseline `evsnn bench --train` measures it against:
 * every step costs the full n_in x n_out multiply-accumulates forward
 * (sgemv), for dW (sger) and for W^T Delta (sgemv), whatever fired. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "train/train_impl.h"

void evsnn__dense_forward(evsnn_trainer_t *tr, const evsnn_input_t *in) {
  const evsnn_net_t *net = tr->net;
  uint32_t L = net->n_layers;
  for (uint32_t m = 0; m < L; m++) {
    memset(tr->v[m], 0, sizeof(float) * net->layer[m].ld);
    tr->start[m][0] = 0;
  }
  for (uint32_t k = 0; k < tr->T; k++) {
    /* The input list, then its raster. */
    uint32_t *list = tr->spikes[0] + tr->start[0][k];
    uint32_t n_in = evsnn_input_step(in, k, list);
    tr->start[0][k + 1] = tr->start[0][k] + n_in;
    float *b0 = tr->raster[0] + (size_t)k * evsnn__pad16(net->sizes[0]);
    memset(b0, 0, sizeof(float) * net->sizes[0]);
    for (uint32_t s = 0; s < n_in; s++) b0[list[s]] = 1.0f;
    tr->counts.spikes[0] += n_in;
    uint32_t n_pre = n_in; /* synops as the event trainer counts them: spikes arriving x fan-out */
    for (uint32_t m = 0; m < L; m++) {
      const evsnn_layer_t *l = &net->layer[m];
      float *v = tr->v[m];
      const float *b = tr->raster[m] + (size_t)k * evsnn__pad16(l->n_in);
      cblas_sscal((int)l->n_out, net->beta, v, 1); /* (4) */
      cblas_sgemv(CblasColMajor, CblasNoTrans, (int)l->n_out, (int)l->n_in, 1.0f, l->W, (int)l->ld, b, 1, 1.0f, v,
                  1); /* (3) */
      tr->counts.synops[m] += (uint64_t)n_pre * l->n_out;
      tr->counts.dense_macs[m] += (uint64_t)l->n_in * l->n_out;
      if (m + 1 == L) break;
      float *fp = tr->fprime[m] + (size_t)k * l->ld, *out = tr->raster[m + 1] + (size_t)k * l->ld;
      uint32_t *list_out = tr->spikes[m + 1] + tr->start[m + 1][k], ns = 0;
      for (uint32_t i = 0; i < l->n_out; i++) {
        float d = fabsf(v[i] - l->threshold);
        fp[i] = d > tr->cutoff ? 0.0f : expf(-d); /* (13) */
        out[i] = v[i] >= l->threshold ? 1.0f : 0.0f; /* (5) */
        if (out[i] != 0.0f) list_out[ns++] = i, v[i] = 0.0f; /* (6) */
      }
      tr->start[m + 1][k + 1] = tr->start[m + 1][k] + ns;
      tr->counts.spikes[m + 1] += ns;
      n_pre = ns;
    }
  }
  tr->counts.steps += tr->T;
}

/* Delta of the output layer is already in tr->delta[L-1]. */
void evsnn__dense_backward(evsnn_trainer_t *tr) {
  const evsnn_net_t *net = tr->net;
  uint32_t T = tr->T;
  for (uint32_t m = net->n_layers; m-- > 0;) {
    const evsnn_layer_t *l = &net->layer[m];
    for (uint32_t k = T; k-- > 0;) {
      const float *delta = tr->delta[m] + (size_t)k * l->ld;
      const float *b = tr->raster[m] + (size_t)k * evsnn__pad16(l->n_in);
      cblas_sger(CblasColMajor, (int)l->n_out, (int)l->n_in, 1.0f, delta, 1, b, 1, tr->dW + l->offset,
                 (int)l->ld); /* (7) */
      if (!m) continue;
      const evsnn_layer_t *below = &net->layer[m - 1];
      float *g = tr->g;
      cblas_sgemv(CblasColMajor, CblasTrans, (int)l->n_out, (int)l->n_in, 1.0f, l->W, (int)l->ld, delta, 1, 0.0f, g,
                  1);
      float *d = tr->delta[m - 1] + (size_t)k * below->ld;
      const float *fp = tr->fprime[m - 1] + (size_t)k * below->ld;
      for (uint32_t i = 0; i < below->n_out; i++) {
        d[i] = fp[i] * g[i]; /* (8) */
        if (tr->grad == EVSNN_GRAD_BPTT && k + 1 < T) /* the carry, gated by the reset */
          d[i] += net->beta * (1.0f - b[i]) * d[i + below->ld];
      }
    }
  }
}
