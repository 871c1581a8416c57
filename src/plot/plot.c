/* The drawing layer of evsnn plot (see plot.h): canvas, text, nice ticks,
 * axes with grid and legend, and the few marks the pictures need. Sizes are
 * in pixels and chosen for a 100%-zoom PNG: 12 px tick labels, 13 px axis
 * labels, 14-16 px bold titles, all in DejaVu Sans (Debian's default). */
#include "plot/plot.h"

#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT "DejaVu Sans"

int plot_canvas_open(plot_canvas_t *c, const char *path, int svg, int width, int height) {
  memset(c, 0, sizeof *c);
  c->width = width;
  c->height = height;
  c->svg = svg;
  if (path && !(c->path = strdup(path))) return CAIRO_STATUS_NO_MEMORY;
  if (!path && svg) return CAIRO_STATUS_NULL_POINTER; /* an SVG surface streams to its file */
  c->surface = svg ? cairo_svg_surface_create(path, width, height)
                   : cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  int st = cairo_surface_status(c->surface);
  c->cr = cairo_create(c->surface);
  if (!st) st = cairo_status(c->cr);
  if (st) {
    plot_canvas_close(c);
    return st;
  }
  cairo_set_source_rgb(c->cr, 1, 1, 1);
  cairo_paint(c->cr);
  return 0;
}

int plot_canvas_close(plot_canvas_t *c) {
  int st = c->cr ? cairo_status(c->cr) : 0;
  if (c->cr) cairo_destroy(c->cr);
  if (c->surface) {
    if (!st && !c->svg && c->path) st = cairo_surface_write_to_png(c->surface, c->path);
    cairo_surface_finish(c->surface);
    if (!st) st = cairo_surface_status(c->surface); /* SVG write errors show here */
    cairo_surface_destroy(c->surface);
  }
  free(c->path);
  memset(c, 0, sizeof *c);
  return st;
}

void plot_text(cairo_t *cr, double x, double y, double ax, double ay, double size, int bold, double angle,
               const char *text) {
  cairo_save(cr);
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(cr, text, &te);
  cairo_font_extents(cr, &fe);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  /* Vertical placement by the font's ascent and descent, not the glyphs'
   * ink, so labels of one row share a baseline whatever their letters. */
  cairo_move_to(cr, -ax * te.x_advance, fe.ascent - ay * (fe.ascent + fe.descent));
  cairo_show_text(cr, text);
  cairo_restore(cr);
}

static double text_width(cairo_t *cr, double size, int bold, const char *text) {
  cairo_save(cr);
  cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t te;
  cairo_text_extents(cr, text, &te);
  cairo_restore(cr);
  return te.x_advance;
}

void plot_title(plot_canvas_t *c, const char *title, const char *subtitle) {
  cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
  plot_text(c->cr, c->width / 2.0, 10, 0.5, 0, 17, 1, 0, title);
  if (subtitle) {
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    plot_text(c->cr, c->width / 2.0, 33, 0.5, 0, 12.5, 0, 0, subtitle);
  }
}

plot_rgb_t plot_color(unsigned i) {
  static const unsigned tab10[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  unsigned v = tab10[i % 10];
  return (plot_rgb_t){(v >> 16) / 255.0, (v >> 8 & 255) / 255.0, (v & 255) / 255.0};
}

size_t plot_ticks(double lo, double hi, int target, double *t, size_t cap, double *step) {
  if (!(hi > lo) || target < 1 || cap == 0) {
    *step = 1;
    if (cap) t[0] = lo;
    return cap ? 1 : 0;
  }
  double raw = (hi - lo) / target, mag = pow(10, floor(log10(raw))), norm = raw / mag;
  double s = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  *step = s;
  size_t n = 0;
  /* Ticks as integer multiples of the step, so 0.1 + 0.2 never drifts. */
  for (double k = ceil(lo / s - 1e-9); k * s <= hi + 1e-9 * s && n < cap; k++) t[n++] = k * s;
  return n;
}

void plot_tick_label(char *buf, size_t cap, double v, double step) {
  static const struct {
    double unit;
    const char *suffix;
  } units[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}};
  if (fabs(v) < 1e-9 * step) v = 0; /* no "-0" */
  size_t u = 0;
  while (units[u].unit > 1 && fabs(v) < units[u].unit) u++;
  double s = step / units[u].unit;
  int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
  if (dec > 6) dec = 6;
  snprintf(buf, cap, "%.*f%s", dec, v / units[u].unit, units[u].suffix);
}

void plot_axes_init(plot_axes_t *a, plot_canvas_t *c, double x, double y, double w, double h, const char *title) {
  memset(a, 0, sizeof *a);
  a->cr = c->cr;
  double top = 8;
  if (title) {
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    plot_text(c->cr, x + 66 + (w - 80) / 2, y + 4, 0.5, 0, 14, 1, 0, title);
    top = 28;
  }
  a->x = x + 66;
  a->y = y + top;
  a->w = w - 66 - 14;
  a->h = h - top - 48;
  a->xmin = a->ymin = 0;
  a->xmax = a->ymax = 1;
}

void plot_axes_range(plot_axes_t *a, double xmin, double xmax, double ymin, double ymax) {
  a->xmin = xmin;
  a->xmax = xmax > xmin ? xmax : xmin + 1;
  a->ymin = ymin;
  a->ymax = ymax > ymin ? ymax : ymin + 1;
}

void plot_axes_categories(plot_axes_t *a, const char *const *names, size_t n) {
  a->xcats = names;
  a->n_xcats = n;
  a->xmin = -0.5;
  a->xmax = n - 0.5;
}

double plot_floor_to(double v, double unit) { return floor(v / unit) * unit; }

double plot_x(const plot_axes_t *a, double x) { return a->x + (x - a->xmin) / (a->xmax - a->xmin) * a->w; }
double plot_y(const plot_axes_t *a, double y) { return a->y + a->h - (y - a->ymin) / (a->ymax - a->ymin) * a->h; }

void plot_axes_draw(plot_axes_t *a, const char *xlabel, const char *ylabel, int xticks, int yticks) {
  cairo_t *cr = a->cr;
  double t[64], step;
  char lab[32];
  cairo_save(cr);
  cairo_set_line_width(cr, 1);
  size_t ny = yticks ? plot_ticks(a->ymin, a->ymax, yticks, t, 64, &step) : 0;
  for (size_t i = 0; i < ny; i++) {
    double py = round(plot_y(a, t[i])) + 0.5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, a->x, py);
    cairo_line_to(cr, a->x + a->w, py);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, a->x - 4, py);
    cairo_line_to(cr, a->x, py);
    cairo_stroke(cr);
    plot_tick_label(lab, sizeof lab, t[i], step);
    plot_text(cr, a->x - 7, py, 1, 0.5, 12, 0, 0, lab);
  }
  size_t nx = 0;
  if (a->xcats) {
    /* Category names may hold one '\n': a second, lighter line. */
    for (size_t i = 0; i < a->n_xcats; i++) {
      char first[128];
      const char *nl = strchr(a->xcats[i], '\n');
      snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - a->xcats[i]) : (int)strlen(a->xcats[i]), a->xcats[i]);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      plot_text(cr, plot_x(a, (double)i), a->y + a->h + 6, 0.5, 0, 12.5, 0, 0, first);
      if (!nl) continue;
      cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
      plot_text(cr, plot_x(a, (double)i), a->y + a->h + 23, 0.5, 0, 11.5, 0, 0, nl + 1);
    }
  } else if (xticks) {
    nx = plot_ticks(a->xmin, a->xmax, xticks, t, 64, &step);
    if (a->xint && step < 1) nx = plot_ticks(a->xmin, a->xmax, (int)floor(a->xmax - a->xmin), t, 64, &step);
  }
  for (size_t i = 0; i < nx; i++) {
    double px = round(plot_x(a, t[i])) + 0.5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, px, a->y);
    cairo_line_to(cr, px, a->y + a->h);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    cairo_move_to(cr, px, a->y + a->h);
    cairo_line_to(cr, px, a->y + a->h + 4);
    cairo_stroke(cr);
    plot_tick_label(lab, sizeof lab, t[i], step);
    plot_text(cr, px, a->y + a->h + 6, 0.5, 0, 12, 0, 0, lab);
  }
  cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
  cairo_rectangle(cr, round(a->x) + 0.5, round(a->y) + 0.5, round(a->w), round(a->h));
  cairo_stroke(cr);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  if (xlabel) plot_text(cr, a->x + a->w / 2, a->y + a->h + 24, 0.5, 0, 13, 0, 0, xlabel);
  if (ylabel) plot_text(cr, a->x - 64, a->y + a->h / 2, 0.5, 0, 13, 0, -M_PI / 2, ylabel);
  cairo_restore(cr);
  a->legend_y = a->y + 8;
}

static void clip_to(plot_axes_t *a) {
  cairo_save(a->cr);
  cairo_rectangle(a->cr, a->x, a->y, a->w, a->h);
  cairo_clip(a->cr);
}

void plot_line(plot_axes_t *a, const double *xs, const double *ys, size_t n, plot_rgb_t col, double width) {
  if (n == 0) return;
  clip_to(a);
  cairo_set_source_rgb(a->cr, col.r, col.g, col.b);
  cairo_set_line_width(a->cr, width);
  cairo_set_line_join(a->cr, CAIRO_LINE_JOIN_ROUND);
  for (size_t i = 0; i < n; i++) cairo_line_to(a->cr, plot_x(a, xs[i]), plot_y(a, ys[i]));
  cairo_stroke(a->cr);
  cairo_restore(a->cr);
}

void plot_points(plot_axes_t *a, const double *xs, const double *ys, size_t n, plot_rgb_t col, double radius) {
  clip_to(a);
  cairo_set_source_rgb(a->cr, col.r, col.g, col.b);
  for (size_t i = 0; i < n; i++) {
    cairo_new_sub_path(a->cr);
    cairo_arc(a->cr, plot_x(a, xs[i]), plot_y(a, ys[i]), radius, 0, 2 * M_PI);
  }
  cairo_fill(a->cr);
  cairo_restore(a->cr);
}

void plot_hline(plot_axes_t *a, double y, plot_rgb_t col, const char *label) {
  double py = plot_y(a, y), dash[] = {5, 4};
  clip_to(a);
  cairo_set_source_rgb(a->cr, col.r, col.g, col.b);
  cairo_set_line_width(a->cr, 1.2);
  cairo_set_dash(a->cr, dash, 2, 0);
  cairo_move_to(a->cr, a->x, py);
  cairo_line_to(a->cr, a->x + a->w, py);
  cairo_stroke(a->cr);
  if (label) plot_text(a->cr, a->x + a->w - 4, py - 2, 1, 1, 11, 0, 0, label);
  cairo_restore(a->cr);
}

void plot_bar(plot_axes_t *a, double x, double width, double base, double v, plot_rgb_t col) {
  double x0 = plot_x(a, x - width / 2), x1 = plot_x(a, x + width / 2);
  double y0 = plot_y(a, base), y1 = plot_y(a, v);
  clip_to(a);
  cairo_set_source_rgb(a->cr, col.r, col.g, col.b);
  cairo_rectangle(a->cr, x0, fmin(y0, y1), x1 - x0, fabs(y1 - y0));
  cairo_fill(a->cr);
  cairo_restore(a->cr);
}

void plot_legend(plot_axes_t *a, const char *label, plot_rgb_t col, double line_width, int box, int where) {
  cairo_t *cr = a->cr;
  double tw = text_width(cr, 12, 0, label), sw = 22, entry_w = sw + 6 + tw;
  double x0 = where == PLOT_LEGEND_LEFT    ? a->x + 10
              : where == PLOT_LEGEND_OUTSIDE ? a->x + a->w + 16
                                             : a->x + a->w - 10 - entry_w;
  double y = a->legend_y + 8;
  cairo_save(cr);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_rectangle(cr, x0 - 4, y - 9, entry_w + 8, 18);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, col.r, col.g, col.b);
  if (box) {
    cairo_rectangle(cr, x0 + 4, y - 6, sw - 8, 12);
    cairo_fill(cr);
  } else {
    cairo_set_line_width(cr, line_width);
    cairo_move_to(cr, x0, y);
    cairo_line_to(cr, x0 + sw, y);
    cairo_stroke(cr);
  }
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  plot_text(cr, x0 + sw + 6, y, 0, 0.5, 12, 0, 0, label);
  cairo_restore(cr);
  a->legend_y += 18;
}

/* A w x h image surface filled by fill(src, x, y) -> 0xRRGGBB, drawn into
 * the box (x, y, bw, bh) with square pixels, centred, and framed. */
static int draw_pixels(cairo_t *cr, const uint8_t *src, uint32_t (*fill)(const uint8_t *src, size_t i), int w,
                       int h, double x, double y, double bw, double bh) {
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  int st = cairo_surface_status(img);
  if (st) {
    cairo_surface_destroy(img);
    return st;
  }
  cairo_surface_flush(img);
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int r = 0; r < h; r++) {
    uint32_t *row = (uint32_t *)(data + (size_t)r * stride);
    for (int c = 0; c < w; c++) row[c] = fill(src, (size_t)r * w + c);
  }
  cairo_surface_mark_dirty(img);
  double s = fmin(bw / w, bh / h), ox = x + (bw - s * w) / 2, oy = y + (bh - s * h) / 2;
  cairo_save(cr);
  cairo_translate(cr, ox, oy);
  cairo_scale(cr, s, s);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, ox - 0.5, oy - 0.5, s * w + 1, s * h + 1);
  cairo_stroke(cr);
  cairo_surface_destroy(img);
  return 0;
}

static uint32_t rgb_pixel(const uint8_t *rgb, size_t i) {
  const uint8_t *p = rgb + 3 * i;
  return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t grey_pixel(const uint8_t *grey, size_t i) { return (uint32_t)grey[i] * 0x010101u; }

int plot_image(cairo_t *cr, const uint8_t *rgb, int w, int h, double x, double y, double bw, double bh) {
  return draw_pixels(cr, rgb, rgb_pixel, w, h, x, y, bw, bh);
}

int plot_image_grey(cairo_t *cr, const uint8_t *grey, int w, int h, double x, double y, double bw, double bh) {
  return draw_pixels(cr, grey, grey_pixel, w, h, x, y, bw, bh);
}

/* The grid's margins: 20 px at the sides, the title's 64 px on top, 34 px
 * under each box for its caption. */
void plot_grid_init(plot_grid_t *g, const plot_canvas_t *c, uint32_t n, uint32_t cols, uint32_t iw, uint32_t ih) {
  g->cols = cols;
  g->rows = (n + cols - 1) / cols;
  g->w = (c->width - 40.0) / cols - 20;
  g->h = fmin(g->w * ih / iw, (c->height - 80.0) / g->rows - 34);
}

void plot_grid_box(const plot_grid_t *g, uint32_t i, double *x, double *y) {
  *x = 20 + (i % g->cols) * (g->w + 20) + 10;
  *y = 64 + (i / g->cols) * (g->h + 34);
}

int plot_grid_height(uint32_t n, uint32_t cols, uint32_t iw, uint32_t ih, int width) {
  uint32_t rows = (n + cols - 1) / cols;
  double w = (width - 40.0) / cols - 20, h = w * ih / iw;
  return (int)(80 + rows * (h + 34));
}

void plot_pop_shape(char *buf, size_t cap, const plot_pop_t *p) {
  if (p->c == 1 && p->h == 1) snprintf(buf, cap, "%u", p->w);
  else snprintf(buf, cap, "%ux%ux%u", p->c, p->h, p->w);
}
