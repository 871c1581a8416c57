/* The sparsity figure (plot.h): how often each population spikes, and how
 * many synaptic operations each projection does against the MACs of a
 * dense network doing the same steps. */
#include <math.h>
#include <stdlib.h>

#include "plot/plot.h"

#define CAT 96 /* bytes per category label */

int plot_sparsity(plot_canvas_t *c, const plot_pop_count_t *pops, size_t n_pops, const plot_proj_count_t *projs,
                  size_t n_projs, double samples, uint32_t T, const char *subtitle) {
  size_t most = n_pops > n_projs ? n_pops : n_projs;
  if (!most) return CAIRO_STATUS_INVALID_SIZE;
  char *names = malloc(most * (CAT + sizeof(char *))), lab[64];
  double *rate = malloc(most * sizeof(double)), rmax = 0, opmax = 0;
  if (!names || !rate) {
    free(names), free(rate);
    return CAIRO_STATUS_NO_MEMORY;
  }
  const char **cats = (const char **)(names + most * CAT);
  for (size_t m = 0; m < n_pops; m++) {
    rate[m] = 100.0 * pops[m].spikes / (samples * T * plot_pop_size(&pops[m].pop));
    rmax = fmax(rmax, rate[m]);
    char shape[48];
    plot_pop_shape(shape, sizeof shape, &pops[m].pop);
    snprintf(names + m * CAT, CAT, "%s\nn = %s", pops[m].pop.name, shape);
    cats[m] = names + m * CAT;
  }
  for (size_t m = 0; m < n_projs; m++) opmax = fmax(opmax, projs[m].dense_macs / samples);
  plot_title(c, "Sparsity: spikes and synaptic operations", subtitle);
  double W = c->width, H = c->height;
  plot_axes_t a;
  plot_axes_init(&a, c, 10, 58, W * 0.42, H - 62, "spike rate per neuron and step");
  plot_axes_categories(&a, cats, n_pops);
  plot_axes_range(&a, -0.5, n_pops - 0.5, 0, rmax * 1.25);
  plot_axes_draw(&a, NULL, "spikes / (neuron x step)  (%)", 0, 6);
  for (size_t m = 0; m < n_pops; m++) {
    plot_bar(&a, m, 0.6, 0, rate[m], plot_color((unsigned)m));
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    snprintf(lab, sizeof lab, "%.2f%%", rate[m]);
    plot_text(c->cr, plot_x(&a, m), plot_y(&a, rate[m]) - 18, 0.5, 1, 12, 1, 0, lab);
    snprintf(lab, sizeof lab, "%.0f spikes", pops[m].spikes / samples);
    plot_text(c->cr, plot_x(&a, m), plot_y(&a, rate[m]) - 3, 0.5, 1, 11, 0, 0, lab);
  }
  plot_axes_init(&a, c, W * 0.42 + 20, 58, W * 0.58 - 30, H - 62, "synaptic ops vs dense MACs");
  for (size_t m = 0; m < n_projs; m++) {
    snprintf(names + m * CAT, CAT, "%s\n%s", projs[m].name, projs[m].route);
    cats[m] = names + m * CAT;
  }
  plot_axes_categories(&a, cats, n_projs);
  plot_axes_range(&a, -0.5, n_projs - 0.5, 0, opmax * 1.15);
  plot_axes_draw(&a, NULL, "operations per image", 0, 6);
  for (size_t m = 0; m < n_projs; m++) {
    double so = projs[m].synops / samples, dm = projs[m].dense_macs / samples;
    plot_bar(&a, m - 0.17, 0.32, 0, dm, PLOT_GREY);
    plot_bar(&a, m + 0.17, 0.32, 0, so, plot_color(2));
    snprintf(lab, sizeof lab, "%.1fx fewer", so > 0 ? dm / so : INFINITY);
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    plot_text(c->cr, plot_x(&a, m + 0.17), plot_y(&a, so) - 4, 0.5, 1, 11.5, 1, 0, lab);
  }
  plot_legend(&a, "dense MACs (the dense computation, every step)", PLOT_GREY, 0, 1, PLOT_LEGEND_RIGHT);
  plot_legend(&a, "synaptic ops (spikes x fan-out)", plot_color(2), 0, 1, PLOT_LEGEND_RIGHT);
  free(names), free(rate);
  return cairo_status(c->cr);
}
