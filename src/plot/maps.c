/* The feature-map figure (plot.h): a convolutional population's spike
 * counts, one small grey map per channel, on one scale so that channels
 * compare: what each channel responds to over a stretch of input. */
#include <math.h>
#include <stdlib.h>

#include "plot/plot.h"

uint32_t plot_maps_cols(uint32_t channels) {
  uint32_t cols = 1;
  while (cols * cols < channels) cols++;
  return cols;
}

void plot_maps_size(const plot_pop_t *pop, int *width, int *height) {
  uint32_t cols = plot_maps_cols(pop->c);
  *width = 40 + 180 * (int)cols;
  if (*width < 440) *width = 440; /* room for the title */
  *height = plot_grid_height(pop->c, cols, pop->w, pop->h, *width);
}

int plot_maps(plot_canvas_t *c, const plot_pop_t *pop, const uint32_t *counts, const char *subtitle) {
  size_t px = (size_t)pop->h * pop->w;
  uint32_t max = 0;
  for (size_t i = 0; i < px * pop->c; i++) max = counts[i] > max ? counts[i] : max;
  uint8_t *grey = malloc(px ? px : 1);
  if (!grey) return CAIRO_STATUS_NO_MEMORY;
  char title[160], shape[48], lab[64];
  plot_pop_shape(shape, sizeof shape, pop);
  snprintf(title, sizeof title, "Spike counts per channel: %s (%s)", pop->name, shape);
  plot_title(c, title, subtitle);
  plot_grid_t g;
  plot_grid_init(&g, c, pop->c, plot_maps_cols(pop->c), pop->w, pop->h);
  int st = 0;
  for (uint32_t ch = 0; ch < pop->c && !st; ch++) {
    const uint32_t *map = counts + ch * px;
    uint64_t total = 0;
    for (size_t i = 0; i < px; i++) {
      grey[i] = max ? (uint8_t)lround(255.0 * map[i] / max) : 0;
      total += map[i];
    }
    double x, y;
    plot_grid_box(&g, ch, &x, &y);
    if ((st = plot_image_grey(c->cr, grey, (int)pop->w, (int)pop->h, x, y, g.w, g.h))) break;
    snprintf(lab, sizeof lab, "channel %u: %llu spikes", ch, (unsigned long long)total);
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    plot_text(c->cr, x + g.w / 2, y + g.h + 6, 0.5, 0, 12, 0, 0, lab);
  }
  free(grey);
  return st ? st : (int)cairo_status(c->cr);
}
