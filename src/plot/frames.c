/* The event-frame figure (plot.h): a DVS recording's ON and OFF events
 * counted per time window and display cell, drawn as colour frames. The
 * counts are built incrementally, chunk by chunk, as readers stream. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "plot/plot.h"

void plot_extent_add(plot_extent_t *e, const evsnn_event_t *ev, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!e->n && !i) e->t0 = e->t1 = ev[0].t;
    e->max_x = ev[i].x > e->max_x ? ev[i].x : e->max_x, e->max_y = ev[i].y > e->max_y ? ev[i].y : e->max_y;
    e->t0 = ev[i].t < e->t0 ? ev[i].t : e->t0, e->t1 = ev[i].t > e->t1 ? ev[i].t : e->t1;
  }
  e->n += n;
}

int plot_frames_init(plot_frames_t *f, const plot_extent_t *e, uint32_t width, uint32_t height, int64_t window_us,
                     uint32_t max_frames) {
  memset(f, 0, sizeof *f);
  f->width = !width || e->max_x >= width ? e->max_x + 1 : width;
  f->height = !height || e->max_y >= height ? e->max_y + 1 : height;
  int64_t span = e->t1 - e->t0 + 1;
  f->window = window_us > 0 ? window_us : (span + max_frames - 1) / max_frames;
  if (f->window < 1) f->window = 1;
  int64_t nf = (span + f->window - 1) / f->window;
  f->n_frames = (uint32_t)(nf < max_frames ? nf : max_frames);
  f->t0 = e->t0;
  f->ds = (f->width + PLOT_FRAME_CELLS - 1) / PLOT_FRAME_CELLS;
  f->cols = (f->width + f->ds - 1) / f->ds, f->rows = (f->height + f->ds - 1) / f->ds;
  size_t cells = (size_t)f->cols * f->rows * f->n_frames;
  f->on = calloc(cells, sizeof(uint32_t));
  f->off = calloc(cells, sizeof(uint32_t));
  if (!f->on || !f->off) {
    plot_frames_free(f);
    return evsnn__fail(EVSNN_ENOMEM, "event frames: %zu cells", cells);
  }
  return 0;
}

void plot_frames_add(plot_frames_t *f, const evsnn_event_t *ev, size_t n) {
  size_t cells = (size_t)f->cols * f->rows;
  for (size_t i = 0; i < n; i++) {
    int64_t k = (ev[i].t - f->t0) / f->window;
    if (k < 0 || k >= f->n_frames || ev[i].x >= f->width || ev[i].y >= f->height) continue;
    size_t c = (size_t)k * cells + (size_t)(ev[i].y / f->ds) * f->cols + ev[i].x / f->ds;
    (ev[i].p ? f->on : f->off)[c]++;
    f->shown++;
  }
}

uint32_t plot_frames_saturation(const plot_frames_t *f) {
  uint32_t hist[256] = {0}, sat;
  uint64_t nz = 0, acc = 0;
  for (size_t c = 0; c < (size_t)f->cols * f->rows * f->n_frames; c++) {
    uint32_t v = f->on[c] + f->off[c];
    if (v) hist[v < 255 ? v : 255]++, nz++;
  }
  for (sat = 1; sat < 255 && (acc += hist[sat]) < 0.98 * nz; sat++) {}
  return sat;
}

void plot_frames_free(plot_frames_t *f) {
  free(f->on);
  free(f->off);
  memset(f, 0, sizeof *f);
}

uint32_t plot_frames_cols(uint32_t n) { return n <= 4 ? n : n <= 9 ? 3 : 4; }

int plot_event_frames(plot_canvas_t *c, const plot_frames_t *f, uint32_t first, uint32_t count, uint32_t sat,
                      const char *title, const char *subtitle) {
  size_t cells = (size_t)f->cols * f->rows;
  uint8_t *rgb = malloc(3 * cells);
  if (!rgb) return CAIRO_STATUS_NO_MEMORY;
  plot_title(c, title, subtitle);
  plot_grid_t g;
  plot_grid_init(&g, c, count, plot_frames_cols(count), f->cols, f->rows);
  int st = 0;
  char lab[96];
  for (uint32_t k = first; k < first + count && !st; k++) {
    const uint32_t *on = f->on + k * cells, *off = f->off + k * cells;
    for (size_t i = 0; i < cells; i++) {
      /* sqrt: single events stay visible next to busy pixels. */
      double a = sqrt(fmin(1, (double)on[i] / sat)), b = sqrt(fmin(1, (double)off[i] / sat));
      /* White paper; ON pulls toward red, OFF toward blue, both toward purple. */
      double rr = 1 - 0.2 * a - 0.85 * b, gg = 1 - 0.85 * a - 0.65 * b, bb = 1 - 0.85 * a - 0.15 * b;
      rgb[3 * i] = (uint8_t)lround(255 * fmax(0, rr));
      rgb[3 * i + 1] = (uint8_t)lround(255 * fmax(0, gg));
      rgb[3 * i + 2] = (uint8_t)lround(255 * fmax(0, bb));
    }
    double x, y;
    plot_grid_box(&g, k - first, &x, &y);
    if ((st = plot_image(c->cr, rgb, (int)f->cols, (int)f->rows, x, y, g.w, g.h))) break;
    snprintf(lab, sizeof lab, "%.4g-%.4g ms", (double)k * f->window / 1000, (double)(k + 1) * f->window / 1000);
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    plot_text(c->cr, x + g.w / 2, y + g.h + 6, 0.5, 0, 12.5, 0, 0, lab);
  }
  free(rgb);
  return st ? st : (int)cairo_status(c->cr);
}
