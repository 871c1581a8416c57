/* Test support for the finite-difference tests of the backward pass
 * (test_train.c on chains, test_graph.c on graphs): the smooth stand-in for
 * the spike, and the readout's loss with the Delta the backward pass
 * starts from. Include once, from a Criterion test file. */
#ifndef EVSNN_TESTS_SMOOTH_H
#define EVSNN_TESTS_SMOOTH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* b = F(u - s) with F'(x) = exp(-|x|), exactly the surrogate: then the
 * backward pass's equations are the exact gradient of the smooth network. */
static double smooth_F(double x) { return x < 0 ? exp(x) : 2 - exp(-x); }

/* Softmax cross-entropy on the n readout potentials u (10-12); if delta is
 * non-NULL, Delta^M[k] = beta^(T-1-k) (P - onehot(label)) at delta + k ld. */
static double smooth_readout(const double *u, uint32_t n, uint32_t label, double beta, uint32_t T, float *delta,
                             size_t ld) {
  double mx = u[0], z = 0, P[64];
  for (uint32_t i = 1; i < n; i++) mx = fmax(mx, u[i]);
  for (uint32_t i = 0; i < n; i++) z += P[i] = exp(u[i] - mx);
  for (uint32_t i = 0; i < n; i++) P[i] /= z;
  if (delta)
    for (uint32_t k = 0; k < T; k++)
      for (uint32_t i = 0; i < n; i++) delta[k * ld + i] = (float)(pow(beta, T - 1 - k) * (P[i] - (i == label)));
  return -log(P[label]);
}

#endif
