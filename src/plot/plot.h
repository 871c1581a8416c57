/* plot.h: the pictures of `evsnn plot`, in two layers.
 *
 * The drawing layer: a canvas (one PNG or SVG file, or memory), axes that
 * map data to pixels and draw their own frame, ticks, grid, labels and
 * legend, and a few marks (lines, points, bars, pixel images). Every
 * picture is built from these, so ticks, fonts and colours are decided
 * once.
 *
 * The figures (below the drawing layer): one function per picture, over
 * plain arrays, knowing nothing of options, files or engines. The CLI
 * (src/cli/cmd_plot.c) reads files and runs networks to fill the arrays;
 * tests fill them by hand and read the pixels back. A figure draws on an
 * open canvas of any size; each says the size the CLI gives it by default.
 * Its title is its own; the subtitle, which says where the data came from,
 * is the caller's (NULL: none). Figures over a network take a list of
 * populations (name and shape C x H x W; a fully connected layer of n
 * neurons is 1 x 1 x n), so a graph network draws like a chain of layers.
 *
 * It links cairo and lives outside libevsnn, which must not: libevsnn_plot
 * is a convenience library for the CLI and its tests, which also link
 * libevsnn (the data functions use its events, encoder and error detail).
 *
 * Errors: drawing functions return 0 or a cairo_status_t (non-zero), which
 * the caller reports with cairo_status_to_string(); data functions (the
 * log reader, the reconstruction, the frame binning) return 0 or a negative
 * EVSNN_E* code with a detail line for evsnn_error_detail(), and leave
 * nothing allocated on failure.
 */
#ifndef EVSNN_PLOT_H
#define EVSNN_PLOT_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "evsnn/events.h"

typedef struct {
  cairo_surface_t *surface;
  cairo_t *cr;
  int width, height, svg;
  char *path; /* owned copy: PNGs are written on close */
} plot_canvas_t;

/* Opens a white canvas of width x height pixels (SVG: points) writing to
 * path; SVG streams to the file, PNG is written by plot_canvas_close.
 * path NULL (PNG only): a canvas in memory, never written, whose pixels
 * c->surface holds until close (for tests). */
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
/* v rounded down to a multiple of unit: the bottom of an accuracy axis. */
double plot_floor_to(double v, double unit);
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
/* The same for a grey image (1 byte per pixel, 0 black, 255 white). */
int plot_image_grey(cairo_t *cr, const uint8_t *grey, int w, int h, double x, double y, double bw, double bh);

/* A grid of n boxes for images of iw x ih pixels, cols across, filling the
 * canvas under its title: box i is w x h at (x, y) from plot_grid_box,
 * with room for a caption line under it. */
typedef struct {
  uint32_t cols, rows;
  double w, h;
} plot_grid_t;
void plot_grid_init(plot_grid_t *g, const plot_canvas_t *c, uint32_t n, uint32_t cols, uint32_t iw, uint32_t ih);
void plot_grid_box(const plot_grid_t *g, uint32_t i, double *x, double *y);
/* The canvas height that gives boxes of the images' aspect at this width. */
int plot_grid_height(uint32_t n, uint32_t cols, uint32_t iw, uint32_t ih, int width);

/* ============================================================ figures ==== */

/* A population's name and shape, for titles and labels: "input (784)",
 * "conv1 (8x26x26)". */
typedef struct {
  const char *name; /* "input", "hidden 1", "conv1" */
  uint32_t c, h, w; /* a fully connected layer of n neurons: 1 x 1 x n */
} plot_pop_t;
static inline uint32_t plot_pop_size(const plot_pop_t *p) { return p->c * p->h * p->w; }
/* "784" for a 1 x 1 x n population, "8x26x26" otherwise. */
void plot_pop_shape(char *buf, size_t cap, const plot_pop_t *p);

/* ------------------------------------------------------------- curves ---- */

/* A training log, as evsnn train --log writes it (CSV): a header naming the
 * columns (in any order; columns it does not know are skipped, so later
 * versions may add some), then one row of numbers per epoch. */
typedef struct {
  size_t n;                                 /* epochs */
  double *epoch, *train_loss;               /* n each */
  double *train_accuracy, *test_accuracy;   /* n each, fractions in [0, 1] */
} plot_log_t;

/* Reads the log from f (the caller opens and closes it). EVSNN_EFORMAT with
 * the line and column in the detail ("line 3: column 'train_accuracy':
 * expected a number, got 'zero'"), for an empty file, a missing column, a
 * field that is not a finite number, a short row or no rows; EVSNN_ENOMEM.
 * Free with plot_log_free (accepts a zeroed log). */
int plot_log_read(plot_log_t *log, FILE *f);
void plot_log_free(plot_log_t *log);
/* The epoch with the best test accuracy (the first of equals). n > 0. */
size_t plot_log_best(const plot_log_t *log);

/* Accuracy (train and test, in %) and loss per epoch, side by side.
 * Default canvas 1000 x 440. */
int plot_curves(plot_canvas_t *c, const plot_log_t *log, const char *subtitle);

/* ----------------------------------------------------------- membrane ---- */

typedef struct {
  uint32_t T, n_out;       /* steps; output neurons (classes) */
  const double *v;         /* (T + 1) x n_out output potentials, row 0 before step 1 */
  int32_t label;           /* the true class, drawn last, black and thick; -1: none */
  const uint8_t *image;    /* the input as a grey image beside the legend, or NULL */
  uint32_t image_w, image_h;
  /* A second panel, when n_hid > 0: neurons of the first hidden layer with
   * their threshold, titled as picked with plot_pick_neurons near T/4
   * spikes ("firing about every 4th step"). */
  uint32_t n_hid;
  const double *h;         /* (T + 1) x n_hid potentials after reset */
  const uint8_t *fired;    /* (T + 1) x n_hid: 1 where the neuron spiked */
  const uint32_t *hid_ids; /* n_hid neuron indices, for the legend */
  double threshold;
  const char *subtitle;
} plot_membrane_t;

/* Output potentials over the steps (the paper's figure 3), and optionally
 * hidden potentials. Default canvas 900 x 540, 900 x 900 with n_hid. */
int plot_membrane(plot_canvas_t *c, const plot_membrane_t *m);
/* The class decided: the first of the largest n values of v. */
uint32_t plot_argmax(const double *v, uint32_t n);
/* Picks k of n neurons whose spike counts are nearest target (ties: lower
 * index), each once, into pick: neurons that integrate and fire a few
 * times show more than silent or saturated ones. k <= n. */
void plot_pick_neurons(const uint32_t *counts, uint32_t n, double target, uint32_t k, uint32_t *pick);

/* ------------------------------------------------------------- raster ---- */

/* A population's spikes: spike i is neuron[i] (index c-major: channel,
 * row, column) at step[i] (0-based). */
typedef struct {
  plot_pop_t pop;
  size_t n;
  const uint32_t *step, *neuron;
} plot_spikes_t;

/* One raster per population, side by side, spikes per step under each.
 * Steps are drawn 1..T. CAIRO_STATUS_INVALID_SIZE for no populations or
 * T = 0, CAIRO_STATUS_INVALID_INDEX for a spike outside the steps or its
 * population; then nothing is drawn. Default canvas 1200 x 720. */
int plot_raster(plot_canvas_t *c, const plot_spikes_t *pops, size_t n_pops, uint32_t T, const char *subtitle);

/* -------------------------------------------------------- reconstruct ---- */

/* The paper's figure 2: the image Poisson-encoded as evsnn test encodes
 * its input (evsnn_poisson_t with the stream (seed, index)); for each
 * T[j] (1..10000, any order), each pixel's spikes over the first T[j]
 * steps, shown as count / T[j]: rebuilt holds n images of px bytes,
 * mae[j] the mean absolute difference from the image (0-255). */
int plot_reconstruct_poisson(const uint8_t *image, size_t px, uint64_t seed, uint64_t index, const uint32_t *T,
                             size_t n, uint8_t *rebuilt, double *mae);
/* The original and the n rebuilt images in a row, with their T and error.
 * Default canvas (40 + 170 (n + 1)) x 290. */
int plot_reconstruct(plot_canvas_t *c, const uint8_t *image, const uint8_t *rebuilt, uint32_t w, uint32_t h,
                     const uint32_t *T, const double *mae, size_t n, const char *subtitle);

/* ------------------------------------------------------------ anytime ---- */

/* Test accuracy when deciding after k = 1..T steps (accuracy[k - 1], a
 * fraction), as evsnn_test_accuracy's anytime array; T >= 1. Default
 * canvas 860 x 500. */
int plot_anytime(plot_canvas_t *c, const double *accuracy, uint32_t T, const char *subtitle);

/* ------------------------------------------------------------- events ---- */

/* ON and OFF event counts of a DVS recording per time window and display
 * cell. Built in two passes over a recording, so that nothing holds it
 * whole: plot_extent_add over every event, then plot_frames_init and
 * plot_frames_add over every event again. */
typedef struct {
  uint64_t n;            /* events seen */
  int64_t t0, t1;        /* earliest and latest timestamps */
  uint32_t max_x, max_y;
} plot_extent_t;
/* Extremes, not first and last: some formats are only nearly ordered. */
void plot_extent_add(plot_extent_t *e, const evsnn_event_t *ev, size_t n);

#define PLOT_FRAME_CELLS 320 /* frames are binned down to at most this many cells across */
typedef struct {
  uint32_t width, height; /* sensor: the header's, widened to the events' extent */
  uint32_t ds;            /* a cell is ds x ds pixels */
  uint32_t cols, rows;    /* cells per frame */
  uint32_t n_frames;
  int64_t t0, window;     /* frame f: t0 + f window <= t < t0 + (f + 1) window */
  uint32_t *on, *off;     /* n_frames x rows x cols counts */
  uint64_t shown;         /* events binned */
} plot_frames_t;
/* Frames over the extent e (e->n > 0) of a width x height recording (0:
 * unknown): windows of window_us, or with window_us 0 the span split into
 * max_frames; at most max_frames (>= 1) frames. EVSNN_ENOMEM. */
int plot_frames_init(plot_frames_t *f, const plot_extent_t *e, uint32_t width, uint32_t height, int64_t window_us,
                     uint32_t max_frames);
/* Counts the events that fall in a frame. */
void plot_frames_add(plot_frames_t *f, const evsnn_event_t *ev, size_t n);
/* The count where colour saturates: the 98th percentile of the non-empty
 * cells' counts (at most 255), so a few hot pixels do not wash out the rest. */
uint32_t plot_frames_saturation(const plot_frames_t *f);
void plot_frames_free(plot_frames_t *f);
/* Frames first..first+count-1 as a grid with their time windows; white
 * paper, ON events red, OFF blue, both purple, saturating at sat. The
 * title is the caller's too (one picture of many says which). Default
 * canvas 1200 wide (640 for one frame per picture), plot_grid_height high. */
int plot_event_frames(plot_canvas_t *c, const plot_frames_t *f, uint32_t first, uint32_t count, uint32_t sat,
                      const char *title, const char *subtitle);
/* Columns of a grid of n frames. */
uint32_t plot_frames_cols(uint32_t n);

/* ----------------------------------------------------------- sparsity ---- */

/* Spikes of a population and operations of a projection, summed over
 * samples: the counters evsnn_test_accuracy fills (evsnn_counts_t). */
typedef struct {
  plot_pop_t pop;
  uint64_t spikes;
} plot_pop_count_t;
typedef struct {
  const char *name;        /* "W1" */
  const char *route;       /* the label's second line: "784 -> 300", "in -> conv1" */
  uint64_t synops, dense_macs;
} plot_proj_count_t;

/* Spike rate per neuron and step of each population, and synaptic
 * operations against dense MACs per projection, per sample over `samples`
 * samples of T steps. CAIRO_STATUS_INVALID_SIZE (nothing drawn) with
 * neither populations nor projections. Default canvas 1100 x 480. */
int plot_sparsity(plot_canvas_t *c, const plot_pop_count_t *pops, size_t n_pops, const plot_proj_count_t *projs,
                  size_t n_projs, double samples, uint32_t T, const char *subtitle);

/* --------------------------------------------------------------- maps ---- */

/* Spike counts of a C x H x W population (counts c-major: channel, row,
 * column) as a grid of C small grey maps, black 0 to white the largest
 * count of all channels (one scale, so channels compare), each captioned
 * with its channel and spike total: the picture of what each channel of a
 * convolutional layer responds to. Default canvas plot_maps_size. */
int plot_maps(plot_canvas_t *c, const plot_pop_t *pop, const uint32_t *counts, const char *subtitle);
/* Columns of the grid of C maps, and the default canvas for them. */
uint32_t plot_maps_cols(uint32_t channels);
void plot_maps_size(const plot_pop_t *pop, int *width, int *height);

#endif
