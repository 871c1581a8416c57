/* The raster figure (plot.h): each population's spikes as marks over
 * (step, neuron), spikes per step under it, one column per population. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot.h"

int plot_raster(plot_canvas_t *c, const plot_spikes_t *pops, size_t n_pops, uint32_t T, const char *subtitle) {
  if (!n_pops || !T) return CAIRO_STATUS_INVALID_SIZE;
  for (size_t m = 0; m < n_pops; m++)
    for (size_t i = 0; i < pops[m].n; i++)
      if (pops[m].step[i] >= T || pops[m].neuron[i] >= plot_pop_size(&pops[m].pop)) return CAIRO_STATUS_INVALID_INDEX;
  uint32_t *per_step = malloc(T * sizeof(uint32_t));
  if (!per_step) return CAIRO_STATUS_NO_MEMORY;
  plot_title(c, "Spike raster per layer", subtitle);
  double W = c->width, H = c->height, cw = (W - 10) / n_pops, rh = (H - 60) * 0.7;
  for (size_t m = 0; m < n_pops; m++) {
    const plot_spikes_t *p = &pops[m];
    uint32_t n = plot_pop_size(&p->pop);
    char title[160], shape[48];
    memset(per_step, 0, T * sizeof(uint32_t));
    for (size_t i = 0; i < p->n; i++) per_step[p->step[i]]++;
    plot_pop_shape(shape, sizeof shape, &p->pop);
    snprintf(title, sizeof title, "%s (%s), %zu spikes", p->pop.name, shape, p->n);
    plot_axes_t a;
    plot_axes_init(&a, c, 5 + m * cw, 56, cw, rh, title);
    a.xint = 1;
    plot_axes_range(&a, 0.5, T + 0.5, -0.5, n - 0.5);
    plot_axes_draw(&a, NULL, "neuron", 8, 6);
    /* One mark per spike: a step wide, at least a pixel high, all filled
     * as one path. */
    double dy = fmax(1.0, a.h / n);
    cairo_save(c->cr);
    cairo_rectangle(c->cr, a.x, a.y, a.w, a.h);
    cairo_clip(c->cr);
    plot_rgb_t col = plot_color((unsigned)m);
    cairo_set_source_rgb(c->cr, col.r, col.g, col.b);
    for (size_t i = 0; i < p->n; i++) {
      double k = (double)p->step[i] + 1, x0 = plot_x(&a, k - 0.4);
      cairo_rectangle(c->cr, x0, plot_y(&a, p->neuron[i]) - dy / 2, plot_x(&a, k + 0.4) - x0, dy);
    }
    cairo_fill(c->cr);
    cairo_restore(c->cr);
    uint32_t peak = 1;
    for (uint32_t k = 0; k < T; k++) peak = per_step[k] > peak ? per_step[k] : peak;
    plot_axes_init(&a, c, 5 + m * cw, 60 + rh, cw, H - 64 - rh, NULL);
    a.xint = 1;
    plot_axes_range(&a, 0.5, T + 0.5, 0, peak * 1.1);
    plot_axes_draw(&a, "time step", "spikes / step", 8, 3);
    for (uint32_t k = 0; k < T; k++) plot_bar(&a, k + 1, 0.8, 0, per_step[k], col);
  }
  free(per_step);
  return cairo_status(c->cr);
}
