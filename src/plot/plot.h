/* plot.h: the small drawing layer under `evsnn plot`. A canvas (one PNG or
 * SVG file), axes that map data to pixels and draw their own frame, ticks,
 * grid, labels and legend, and a few marks (lines, points, bars, pixel
 * images). Every picture is built from these, so ticks, fonts and colours
 * are decided once. It links cairo and lives outside libevsnn, which must
 * not: libevsnn_plot is a convenience library for the CLI and its tests.
 *
 * Functions that can fail return 0 or a cairo_status_t (non-zero); the
 * caller reports it with cairo_status_to_string().
 */
#ifndef EVSNN_PLOT_H
#define EVSNN_PLOT_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  cairo_surface_t *surface;
  cairo_t *cr;
  int width, height, svg;
  char *path; /* owned copy: PNGs are written on close */
} plot_canvas_t;

/* Opens a white canvas of width x height pixels (SVG: points) writing to
 * path; SVG streams to the file, PNG is written by plot_canvas_close. */
int plot_canvas_open(plot_canvas_t *c, const char *path, int svg, int width, int height);
/* Finishes and writes the file; frees everything whatever happens. */
int plot_canvas_close(plot_canvas_t *c);

/* Text. size in pixels; (ax, ay) in [0, 1] place the anchor: 0 = left or
 * top of the text's box, 0.5 = centre, 1 = right or bottom. angle in
 * radians (vertical labels: -pi/2). */
void plot_text(cairo_t *cr, double x, double y, double ax, double ay, double size, int bold, double angle,
               const char *text);
/* Canvas title (bold, centred at the top) and optional subtitle under it. */
void plot_title(plot_canvas_t *c, const char *title, const char *subtitle);

/* Colours: a 10-colour categorical palette (Tableau 10), and grey levels. */
typedef struct {
  double r, g, b;
} plot_rgb_t;
plot_rgb_t plot_color(unsigned i);
#define PLOT_GREY ((plot_rgb_t){0.55, 0.55, 0.55})
#define PLOT_BLACK ((plot_rgb_t){0, 0, 0})

/* "Nice" ticks for [lo, hi]: multiples of 1, 2 or 5 x 10^k, about `target`
 * of them, all within [lo, hi]. Writes at most cap values to t, returns the
 * count, and the step to *step. */
size_t plot_ticks(double lo, double hi, int target, double *t, size_t cap, double *step);
/* Formats a tick value with as many decimals as the step needs, and large
 * values with k / M / G suffixes (1500000 -> "1.5M"). */
void plot_tick_label(char *buf, size_t cap, double v, double step);

typedef struct {
  cairo_t *cr;
  double x, y, w, h;                 /* the data area, pixels */
  double xmin, xmax, ymin, ymax;     /* data range */
  const char *const *xcats;          /* categorical x: xcats[i] at x = i, or NULL */
  size_t n_xcats;
  int xint;                          /* x ticks at integers only (epochs, steps) */
  double legend_y;                   /* next free legend row (pixels) */
} plot_axes_t;

/* Places axes in the box (x, y, w, h) of the canvas, leaving room inside it
 * for tick labels, axis labels and a panel title (NULL: none). */
void plot_axes_init(plot_axes_t *a, plot_canvas_t *c, double x, double y, double w, double h, const char *title);
void plot_axes_range(plot_axes_t *a, double xmin, double xmax, double ymin, double ymax);
/* Categorical x axis: n categories at x = 0..n-1 (range -0.5 .. n-0.5).
 * A name may hold one '\n': the rest is a second, lighter line, where an
 * x label would go (so pass none). */
void plot_axes_categories(plot_axes_t *a, const char *const *names, size_t n);
/* Frame, grid, ticks and labels; call after the range and before the marks
 * (the grid goes under them). Either label may be NULL. xticks / yticks:
 * about how many ticks (0: none). */
void plot_axes_draw(plot_axes_t *a, const char *xlabel, const char *ylabel, int xticks, int yticks);
double plot_x(const plot_axes_t *a, double x);
double plot_y(const plot_axes_t *a, double y);

/* Marks, clipped to the data area. */
void plot_line(plot_axes_t *a, const double *xs, const double *ys, size_t n, plot_rgb_t col, double width);
void plot_points(plot_axes_t *a, const double *xs, const double *ys, size_t n, plot_rgb_t col, double radius);
/* A horizontal dashed reference line at y with a small label at its right end. */
void plot_hline(plot_axes_t *a, double y, plot_rgb_t col, const char *label);
/* A bar from y = base to y = v centred at x, width in data units. */
void plot_bar(plot_axes_t *a, double x, double width, double base, double v, plot_rgb_t col);
/* One legend entry (a line sample, or a filled box if box), stacked
 * downwards from the top, inside the data area at its right or left edge,
 * or outside it to the right (the caller leaves room there). */
enum { PLOT_LEGEND_RIGHT, PLOT_LEGEND_LEFT, PLOT_LEGEND_OUTSIDE };
void plot_legend(plot_axes_t *a, const char *label, plot_rgb_t col, double line_width, int box, int where);

/* An RGB image (3 bytes per pixel, row-major) drawn into a canvas box with
 * square pixels, centred, nearest-neighbour scaled; a thin frame around it. */
int plot_image(cairo_t *cr, const uint8_t *rgb, int w, int h, double x, double y, double bw, double bh);

#endif
