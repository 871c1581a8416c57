/* The membrane figure (plot.h): output potentials over the steps of one
 * input, the true class in black (the paper's figure 3), and optionally a
 * few hidden neurons with their threshold and spikes. */
#include <math.h>
#include <stdlib.h>

#include "plot/plot.h"

uint32_t plot_argmax(const double *v, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t c = 0; c < n; c++) best = v[c] > v[best] ? c : best;
  return best;
}

void plot_pick_neurons(const uint32_t *counts, uint32_t n, double target, uint32_t k, uint32_t *pick) {
  for (uint32_t j = 0; j < k; j++) {
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t taken = 0;
      for (uint32_t q = 0; q < j && !taken; q++) taken = pick[q] == i;
      if (!taken && (best == UINT32_MAX || fabs(counts[i] - target) < fabs(counts[best] - target))) best = i;
    }
    pick[j] = best;
  }
}

int plot_membrane(plot_canvas_t *c, const plot_membrane_t *m) {
  uint32_t T = m->T, n_out = m->n_out, n_hid = m->n_hid;
  double *xs = malloc(2 * (T + 1) * sizeof(double)), *ys = xs + T + 1;
  if (!xs) return CAIRO_STATUS_NO_MEMORY;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < (size_t)(T + 1) * n_out; i++) lo = fmin(lo, m->v[i]), hi = fmax(hi, m->v[i]);
  for (uint32_t k = 0; k <= T; k++) xs[k] = k;
  char lab[128];
  plot_title(c, "Membrane potentials of the output neurons", m->subtitle);
  double W = c->width, H = c->height, ph = n_hid ? (H - 60) * 0.55 : H - 60;
  plot_axes_t a;
  plot_axes_init(&a, c, 10, 56, W - 140, ph, NULL);
  a.xint = 1;
  double pad = 0.05 * (hi - lo);
  plot_axes_range(&a, 0, T, lo - pad, hi + pad);
  plot_axes_draw(&a, "time step", "membrane potential v (output layer)", 10, 7);
  /* The true class last and thick, so no other line hides it. */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t o = 0; o < n_out; o++) {
      int true_class = m->label >= 0 && o == (uint32_t)m->label;
      if (true_class != pass) continue;
      for (uint32_t k = 0; k <= T; k++) ys[k] = m->v[(size_t)k * n_out + o];
      plot_line(&a, xs, ys, T + 1, true_class ? PLOT_BLACK : plot_color(o), true_class ? 3.6 : 1.5);
    }
  for (uint32_t o = 0; o < n_out; o++) {
    int true_class = m->label >= 0 && o == (uint32_t)m->label;
    snprintf(lab, sizeof lab, true_class ? "class %u (true)" : "class %u", o);
    plot_legend(&a, lab, true_class ? PLOT_BLACK : plot_color(o), true_class ? 3.6 : 1.5, 0, PLOT_LEGEND_OUTSIDE);
  }
  int st = 0;
  if (m->image)
    st = plot_image_grey(c->cr, m->image, (int)m->image_w, (int)m->image_h, a.x + a.w + 30, a.legend_y + 14, 84, 84);
  if (n_hid && !st) {
    double hl = 0, hh = m->threshold;
    for (size_t i = 0; i < (size_t)(T + 1) * n_hid; i++) hl = fmin(hl, m->h[i]), hh = fmax(hh, m->h[i]);
    snprintf(lab, sizeof lab, "first hidden layer: %u neurons firing about every 4th step (dots: spikes, reset to 0)",
             n_hid);
    plot_axes_init(&a, c, 10, 60 + ph, W - 140, H - 64 - ph, lab);
    a.xint = 1;
    plot_axes_range(&a, 0, T, hl - 0.05 * (hh - hl), hh * 1.1);
    plot_axes_draw(&a, "time step", "v (hidden layer 1)", 10, 5);
    snprintf(lab, sizeof lab, "threshold s = %.3g", m->threshold);
    plot_hline(&a, m->threshold, PLOT_BLACK, lab);
    for (uint32_t j = 0; j < n_hid; j++) {
      for (uint32_t k = 0; k <= T; k++) ys[k] = m->h[(size_t)k * n_hid + j];
      plot_line(&a, xs, ys, T + 1, plot_color(j), 1.6);
      for (uint32_t k = 0; k <= T; k++)
        if (m->fired[(size_t)k * n_hid + j]) plot_points(&a, &xs[k], &m->threshold, 1, plot_color(j), 4);
      snprintf(lab, sizeof lab, "neuron %u", m->hid_ids[j]);
      plot_legend(&a, lab, plot_color(j), 1.6, 0, PLOT_LEGEND_OUTSIDE);
    }
  }
  free(xs);
  return st ? st : (int)cairo_status(c->cr);
}
