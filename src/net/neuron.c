/* The neuron models' threshold, reset and leak, shared by the engines and
 * the trainer, so that the models live in one place: LIF and IF reset to
 * zero or by subtracting the threshold; LI never spikes. In discrete time
 * the leak is a multiply by beta per step (the engines); in continuous time
 * it is exp(-elapsed / tau) with tau = -dt / ln(beta), so that one step's
 * decay is beta again, and none for IF. A model added here without a
 * continuous-time leak is refused by evsnn__leak_init, by name. */
#include <math.h>

#include "core/internal.h"
#include "evsnn/kernels.h"
#include "net/proj.h"

int evsnn__fire(const evsnn_pop_t *p, float *v, uint32_t first, uint32_t n, uint32_t *out, uint32_t *n_out) {
  float s = p->threshold;
  if (p->reset == EVSNN_RESET_ZERO) {
    if (first == 0 && n == p->n) {
      *n_out += evsnn_kernels()->fire(v, n, s, out + *n_out);
      return 0;
    }
    for (uint32_t i = first; i < first + n; i++)
      if (v[i] >= s) out[(*n_out)++] = i, v[i] = 0.0f;
    return 0;
  }
  int again = 0;
  for (uint32_t i = first; i < first + n; i++)
    if (v[i] >= s) {
      out[(*n_out)++] = i;
      v[i] -= s;
      again |= v[i] >= s;
    }
  return again;
}

int evsnn__fire_held(const evsnn_pop_t *p, float *v, uint32_t first, uint32_t n, int64_t *until, int64_t t,
                     int64_t period, uint32_t *out, uint32_t *n_out) {
  float s = p->threshold;
  int again = 0;
  for (uint32_t i = first; i < first + n; i++) {
    if (t < until[i]) {
      v[i] = 0.0f;
    } else if (v[i] >= s) {
      out[(*n_out)++] = i;
      v[i] = p->reset == EVSNN_RESET_ZERO ? 0.0f : v[i] - s;
      again |= v[i] >= s;
      until[i] = t + period;
    }
  }
  return again;
}

static const char *model_name(evsnn_neuron_t m) {
  switch (m) {
  case EVSNN_NEURON_INPUT: return "input";
  case EVSNN_NEURON_LIF: return "LIF";
  case EVSNN_NEURON_IF: return "IF";
  case EVSNN_NEURON_LI: return "LI";
  }
  return "unknown";
}

int evsnn__leak_init(evsnn__leak_t *lk, const evsnn_pop_t *p, double dt_us) {
  *lk = (evsnn__leak_t){.pop = p, .elapsed = -1};
  switch (p->model) {
  case EVSNN_NEURON_IF:
    lk->none = 1;
    return 0;
  case EVSNN_NEURON_LIF:
  case EVSNN_NEURON_LI:
    if (p->beta == 1.0f) lk->none = 1;
    else if (p->beta == 0.0f) lk->zero = 1;
    else lk->tau_us = -dt_us / log((double)p->beta);
    return 0;
  default:
    return evsnn__fail(EVSNN_EINVAL, "continuous time: population %s: the %s neuron model has no continuous-time leak",
                       p->name, model_name(p->model));
  }
}

float evsnn__leak_factor(const evsnn__leak_t *lk, int64_t elapsed) {
  if (lk->none) return 1.0f;
  if (lk->zero) return 0.0f;
  return (float)exp(-(double)elapsed / lk->tau_us); /* in double, rounded once to float */
}

void evsnn__leak(evsnn__leak_t *lk, float *v, uint32_t first, uint32_t n, int64_t elapsed) {
  if (lk->none || elapsed <= 0) return;
  if (elapsed != lk->elapsed) lk->elapsed = elapsed, lk->factor = evsnn__leak_factor(lk, elapsed);
  if (first == 0 && n == lk->pop->n) { /* a whole population: aligned, padded, the SIMD kernel */
    evsnn_kernels()->scale(v, n, lk->factor);
    return;
  }
  for (uint32_t i = first; i < first + n; i++) v[i] *= lk->factor;
}
