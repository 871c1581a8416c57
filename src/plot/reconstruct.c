/* The reconstruction figure (plot.h, the paper's figure 2): how much of an
 * image a Poisson spike train carries after T steps, each pixel's spike
 * count over the first T steps shown as count / T beside the original. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/encode.h"
#include "evsnn/rng.h"
#include "plot/plot.h"

int plot_reconstruct_poisson(const uint8_t *image, size_t px, uint64_t seed, uint64_t index, const uint32_t *T,
                             size_t n, uint8_t *rebuilt, double *mae) {
  uint32_t Tmax = 0;
  for (size_t j = 0; j < n; j++) {
    if (T[j] < 1 || T[j] > 10000)
      return evsnn__fail(EVSNN_ERANGE, "reconstruction after %u steps: expected 1 to 10000", T[j]);
    Tmax = T[j] > Tmax ? T[j] : Tmax;
  }
  uint32_t *count = calloc(px, sizeof(uint32_t)), *spk = malloc(px * sizeof(uint32_t));
  evsnn_poisson_t enc;
  int err = evsnn_poisson_init(&enc, (uint32_t)px);
  if (err || !count || !spk) {
    evsnn_poisson_free(&enc); /* zeroed by a failed init */
    free(count), free(spk);
    return err ? err : evsnn__fail(EVSNN_ENOMEM, "reconstruction of %zu pixels", px);
  }
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, seed, index);
  evsnn_poisson_set_image(&enc, image);
  for (uint32_t k = 1; k <= Tmax; k++) {
    uint32_t got = evsnn_poisson_step(&enc, &rng, spk);
    for (uint32_t i = 0; i < got; i++) count[spk[i]]++;
    for (size_t j = 0; j < n; j++) {
      if (T[j] != k) continue;
      uint8_t *grey = rebuilt + j * px;
      double e = 0;
      for (size_t p = 0; p < px; p++) {
        grey[p] = (uint8_t)lround(255.0 * count[p] / k);
        e += fabs((double)grey[p] - image[p]);
      }
      mae[j] = e / px;
    }
  }
  evsnn_poisson_free(&enc);
  free(count), free(spk);
  return 0;
}

int plot_reconstruct(plot_canvas_t *c, const uint8_t *image, const uint8_t *rebuilt, uint32_t w, uint32_t h,
                     const uint32_t *T, const double *mae, size_t n, const char *subtitle) {
  size_t px = (size_t)w * h, nimg = n + 1;
  char lab[64];
  plot_title(c, "Images rebuilt from Poisson spike trains", subtitle);
  double cell = (c->width - 40.0) / nimg, side = fmin(cell - 16, c->height - 130);
  for (size_t j = 0; j < nimg; j++) {
    double x = 20 + j * cell + (cell - side) / 2, y = 74;
    int st = plot_image_grey(c->cr, j ? rebuilt + (j - 1) * px : image, (int)w, (int)h, x, y, side, side);
    if (st) return st;
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    if (j == 0) snprintf(lab, sizeof lab, "original");
    else snprintf(lab, sizeof lab, "T = %u", T[j - 1]);
    plot_text(c->cr, x + side / 2, y + side + 8, 0.5, 0, 14, 1, 0, lab);
    if (j == 0) snprintf(lab, sizeof lab, "8-bit pixels");
    else snprintf(lab, sizeof lab, "mean |error| %.1f", mae[j - 1]);
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    plot_text(c->cr, x + side / 2, y + side + 28, 0.5, 0, 12, 0, 0, lab);
  }
  return cairo_status(c->cr);
}
