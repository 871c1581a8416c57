/* The anytime figure (plot.h): test accuracy when the decision is taken
 * after k steps, k = 1..T, from evsnn_test_accuracy's anytime array. */
#include <math.h>
#include <stdlib.h>

#include "plot/plot.h"

int plot_anytime(plot_canvas_t *c, const double *accuracy, uint32_t T, const char *subtitle) {
  double *ks = malloc(2 * T * sizeof(double)), *any = ks + T; /* any: in % */
  if (!ks) return CAIRO_STATUS_NO_MEMORY;
  double lo = 100;
  for (uint32_t k = 0; k < T; k++) ks[k] = k + 1, any[k] = accuracy[k] * 100, lo = fmin(lo, any[k]);
  char lab[96];
  plot_title(c, "Accuracy when deciding after k steps", subtitle);
  plot_axes_t a;
  plot_axes_init(&a, c, 10, 56, c->width - 20, c->height - 60, NULL);
  a.xint = 1;
  double top = fmin(100, ceil(any[T - 1] + 1));
  for (uint32_t k = 0; k < T; k++) top = fmax(top, fmin(100, ceil(any[k] + 0.5)));
  plot_axes_range(&a, 0.5, T + 0.5, plot_floor_to(lo - 0.5, top - lo > 10 ? 5 : 1), top);
  plot_axes_draw(&a, "steps k used for the decision (argmax of the output potentials after step k)",
                 "test accuracy (%)", 10, 8);
  plot_line(&a, ks, any, T, plot_color(0), 2.2);
  plot_points(&a, ks, any, T, plot_color(0), 3.5);
  a.legend_y = a.y + a.h - 30;
  snprintf(lab, sizeof lab, "k = 1: %.2f%%, k = %u: %.2f%%", any[0], T, any[T - 1]);
  plot_legend(&a, lab, plot_color(0), 2.2, 0, PLOT_LEGEND_RIGHT);
  free(ks);
  return cairo_status(c->cr);
}
