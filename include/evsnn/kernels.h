/* evsnn/kernels.h: the hot loops, on raw float arrays.
 *
 * A fully connected layer stores W column-major: the outgoing weights of
 * presynaptic neuron j are the contiguous column W + j*ld, ld = the target
 * layer's size padded to 16 floats (one 64-byte line), 64-byte aligned.
 * Every vector argument (v, x, dW columns) is 64-byte aligned and holds
 * evsnn__pad16(n) floats; kernels may read and write the padding lanes, and
 * the padding lanes of W and x must be zero, so they stay zero in v and y.
 *
 * Each kernel has a portable scalar twin that is both reference and
 * fallback; evsnn_kernels_select() picks AVX-512, AVX2 or scalar once, at
 * run time, from what the CPU supports (or what EVSNN_KERNELS names:
 * "scalar", "avx2", "avx512"), so one binary runs on any x86-64.
 *
 * idx may repeat: a repeated column is added once per occurrence. The SIMD
 * variants add in a different order than scalar (several columns or
 * accumulators at a time), so results agree with it to about 1e-5 relative
 * to the sum of the magnitudes added, not bit for bit.
 */
#ifndef EVSNN_KERNELS_H
#define EVSNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct evsnn_kernels_s {
  const char *name;
  /* v[0:n] += sum over j in idx[0:nidx] of column W + idx[j]*ld.
   * The forward pass: one call delivers all spikes of a step to a layer. */
  void (*colsum)(float *v, const float *W, size_t ld, const uint32_t *idx, size_t nidx, size_t n);
  /* For j in idx: column dW + idx[j]*ld += x[0:n].
   * The weight gradient dW += delta b^T over the presynaptic spikes only. */
  void (*colscatter)(float *dW, size_t ld, const uint32_t *idx, size_t nidx, const float *x, size_t n);
  /* y[j] = dot(column W + j*ld, x[0:n]) for j in [0, ncols): y = W^T x. */
  void (*coldot)(float *y, const float *W, size_t ld, size_t ncols, const float *x, size_t n);
  /* v[0:n] *= a: one step of leak. Elementwise, so every variant rounds
   * exactly as the scalar one. */
  void (*scale)(float *v, size_t n, float a);
  /* Threshold and reset (5, 6): writes the ascending indices i < n with
   * v[i] >= s to out, sets those v[i] to 0, returns their number. */
  uint32_t (*fire)(float *v, size_t n, float s, uint32_t *out);
  /* fp[i] = f'(v[i] - s) = exp(-|v[i] - s|), the surrogate derivative (13),
   * for i < n; 0 where |v[i] - s| > cutoff (INFINITY: never) and in the
   * padding lanes.
   * SIMD variants evaluate exp with a polynomial: within 4e-7 relative of
   * expf for arguments down to -87, and tiny (< 2e-38) below that. */
  void (*surrogate)(float *fp, const float *v, size_t n, float s, float cutoff);
  /* Y + k*ldy = W^T (X + k*ldx) for k < T: coldot for T vectors at once, so
   * that a column of W is loaded once for several steps (the backward pass
   * computes g = (W^m)^T Delta^m[k] for every step of a layer together). */
  void (*coldot_steps)(float *Y, size_t ldy, const float *W, size_t ld, size_t ncols, const float *X,
                       size_t ldx, size_t T, size_t n);
  /* One Adam update of n parameters: m = b1 m + (1 - b1) g,
   * v = b2 v + (1 - b2) g^2, p -= step m / (sqrt(v) + eps), bias corrections
   * folded into step and eps by the caller. No FMA contraction, so every
   * variant rounds exactly as the scalar one. */
  void (*adam)(float *p, float *m, float *v, const float *g, size_t n, float b1, float b2, float step, float eps);
  /* v[0:n] += a w[0:n], any alignment and any n: one run of a
   * convolution's spike (the C_out weights of one tap onto the C_out
   * neurons of one output pixel). Elementwise, with a separate multiply
   * and add (none when a = 1), so every variant rounds as the scalar one. */
  void (*runadd)(float *v, const float *w, size_t n, float a);
  /* sum of w[i] x[i] for i < n, any alignment and any n: a convolution's
   * W^T Delta, one tap at a time. Variants sum in another order: within
   * about 1e-6 relative to the sum of the magnitudes. */
  float (*rundot)(const float *w, const float *x, size_t n);
} evsnn_kernels_t;

/* The kernel set in use (selected on first call, thread-safe after that). */
const evsnn_kernels_t *evsnn_kernels(void);
/* The scalar, AVX2 and AVX-512 sets; NULL where this CPU or build lacks one. */
const evsnn_kernels_t *evsnn_kernels_scalar(void);
const evsnn_kernels_t *evsnn_kernels_avx2(void);
const evsnn_kernels_t *evsnn_kernels_avx512(void);

#endif
