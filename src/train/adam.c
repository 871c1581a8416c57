/* Adam (Kingma and Ba 2014) over one flat parameter array. Padding lanes
 * have zero gradient, so their moments and values stay zero. */
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/train.h"

int evsnn_adam_init(evsnn_adam_t *opt, size_t n, float lr) {
  memset(opt, 0, sizeof *opt);
  opt->m = evsnn__alloc_aligned(n, sizeof(float));
  opt->v = evsnn__alloc_aligned(n, sizeof(float));
  if (!opt->m || !opt->v) {
    evsnn_adam_free(opt);
    return evsnn__fail(EVSNN_ENOMEM, "adam: %zu parameters", n);
  }
  opt->n = n;
  opt->lr = lr;
  opt->beta1 = 0.9f;
  opt->beta2 = 0.999f;
  opt->eps = 1e-8f;
  return 0;
}

void evsnn_adam_free(evsnn_adam_t *opt) {
  evsnn__free_aligned(opt->m);
  evsnn__free_aligned(opt->v);
  memset(opt, 0, sizeof *opt);
}

void evsnn_adam_step(evsnn_adam_t *opt, float *params, const float *grad) {
  opt->t++;
  float b1 = opt->beta1, b2 = opt->beta2;
  float c1 = 1.0f - powf(b1, (float)opt->t), c2 = 1.0f - powf(b2, (float)opt->t);
  float step = opt->lr * sqrtf(c2) / c1; /* bias corrections folded into the step */
  float eps = opt->eps * sqrtf(c2);
  for (size_t i = 0; i < opt->n; i++) {
    float g = grad[i];
    opt->m[i] = b1 * opt->m[i] + (1.0f - b1) * g;
    opt->v[i] = b2 * opt->v[i] + (1.0f - b2) * g * g;
    params[i] -= step * opt->m[i] / (sqrtf(opt->v[i]) + eps);
  }
}
