/* src/plot and evsnn plot. First the drawing layer's arithmetic, then each
 * figure function called directly on hand-made arrays, drawn on a canvas
 * in memory whose pixels are read back (colours at known places, counts,
 * parsed values); then every picture as a user makes it with the built
 * binary, from a small model (the paper's initialisation, saved to a file)
 * and the committed sample: each PNG is read back with cairo and checked
 * for its size and for ink, the numbers the plots print are checked
 * against `evsnn test` and the library call they come from, and error
 * paths give one line and a non-zero exit. */
#include <cairo.h>
#include <criterion/criterion.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "evsnn.h"
#include "plot/plot.h"

static char tmp[] = "/tmp/evsnn-plot.XXXXXX";
static char model[300];

/* A paper-initialised 784-300-300-10 network saved as a model file. */
static void setup(void) {
  cr_assert(mkdtemp(tmp));
  snprintf(model, sizeof model, "%s/m.evsnn", tmp);
  evsnn_net_t net;
  const uint32_t sizes[] = {784, 300, 300, 10};
  const float scale[] = {5, 3};
  cr_assert_eq(evsnn_net_init(&net, sizes, 4, 0.8187f), 0);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_FANIN, scale);
  cr_assert_eq(evsnn_model_save(model, &net, NULL, NULL), 0, "%s", evsnn_error_detail());
  evsnn_net_free(&net);
}

static void teardown(void) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  cr_expect_eq(system(cmd), 0);
}

/* Writes text to tmp/name and its path to path. */
static void write_text(const char *name, const char *text, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", tmp, name);
  FILE *f = fopen(path, "w");
  cr_assert(f, "%s", path);
  fputs(text, f);
  cr_assert_eq(fclose(f), 0);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Loads a PNG with cairo, checks its size and that it is a picture, not a
 * blank page: at least min_ink pixels far from white. Returns the surface
 * for further checks (caller destroys). */
static cairo_surface_t *check_png(const char *path, int w, int h, int min_ink) {
  FILE *f = fopen(path, "rb");
  cr_assert(f, "%s not written", path);
  unsigned char sig[8] = {0};
  cr_assert_eq(fread(sig, 1, 8, f), 8);
  fclose(f);
  cr_expect(!memcmp(sig, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG signature", path);
  cairo_surface_t *s = cairo_image_surface_create_from_png(path);
  cr_assert_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS, "%s: %s", path,
               cairo_status_to_string(cairo_surface_status(s)));
  cr_expect_eq(cairo_image_surface_get_width(s), w, "%s", path);
  cr_expect_eq(cairo_image_surface_get_height(s), h, "%s", path);
  const unsigned char *d = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s), ink = 0;
  for (int y = 0; y < cairo_image_surface_get_height(s); y++)
    for (int x = 0; x < cairo_image_surface_get_width(s); x++) {
      uint32_t px = *(const uint32_t *)(d + (size_t)y * stride + 4 * x);
      ink += ((px >> 16 & 255) + (px >> 8 & 255) + (px & 255)) < 3 * 160;
    }
  cr_expect_geq(ink, min_ink, "%s: only %d dark pixels", path, ink);
  return s;
}

static void plot_ok(const char *args, const char *name, int w, int h, char *out, size_t cap) {
  char cmd[2048], err[4096], path[400];
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  snprintf(cmd, sizeof cmd, "plot %s --out %s", args, path);
  cr_assert_eq(run(cmd, out, cap, err, sizeof err), 0, "%s: %s", cmd, err);
  char want[500];
  snprintf(want, sizeof want, "wrote %s (%dx%d PNG)", path, w, h);
  cr_expect(strstr(out, want) != NULL, "stdout: %s", out);
  cairo_surface_destroy(check_png(path, w, h, 2000));
}

TestSuite(plot, .init = setup, .fini = teardown, .timeout = 60);

Test(plot, ticks_are_round_steps_within_the_range) {
  double t[64], step;
  size_t n = plot_ticks(0, 1, 5, t, 64, &step);
  cr_expect_float_eq(step, 0.2, 1e-12);
  cr_assert_eq(n, 6);
  cr_expect_float_eq(t[3], 0.6, 1e-12);
  n = plot_ticks(87.3, 98, 6, t, 64, &step);
  cr_expect_float_eq(step, 2, 1e-12);
  cr_expect_eq(n, 6);
  cr_expect_float_eq(t[0], 88, 1e-12);
  cr_expect_float_eq(t[n - 1], 98, 1e-12); /* the end is a tick when it is a multiple */
  n = plot_ticks(-0.5, 1.2e6, 6, t, 64, &step);
  cr_expect_float_eq(step, 2e5, 1e-6);
  cr_expect_eq(n, 7);
  n = plot_ticks(3, 3, 5, t, 64, &step); /* empty range: one tick, no loop */
  cr_expect_eq(n, 1);
}

Test(plot, tick_labels_use_the_steps_decimals_and_suffixes) {
  char b[32];
  plot_tick_label(b, sizeof b, 0.3, 0.05);
  cr_expect_str_eq(b, "0.30");
  plot_tick_label(b, sizeof b, 96, 2);
  cr_expect_str_eq(b, "96");
  plot_tick_label(b, sizeof b, 1.6e6, 2e5);
  cr_expect_str_eq(b, "1.6M");
  plot_tick_label(b, sizeof b, 4e5, 2e5);
  cr_expect_str_eq(b, "400k");
  plot_tick_label(b, sizeof b, -1e-17, 0.1);
  cr_expect_str_eq(b, "0.0");
}

/* ------------------------------------------------- figures, directly ---- */

/* A canvas in memory: nothing is written, the pixels are read back. */
static void canvas(plot_canvas_t *c, int w, int h) {
  cr_assert_eq(plot_canvas_open(c, NULL, 0, w, h), 0);
}

/* The pixel at (x, y) as 0xRRGGBB. */
static uint32_t pixel(plot_canvas_t *c, double x, double y) {
  cairo_surface_flush(c->surface);
  const unsigned char *d = cairo_image_surface_get_data(c->surface);
  int stride = cairo_image_surface_get_stride(c->surface);
  return *(const uint32_t *)(d + (size_t)lround(y) * stride + 4 * (size_t)lround(x)) & 0xffffff;
}

static uint32_t hex(plot_rgb_t col) {
  return (uint32_t)lround(col.r * 255) << 16 | (uint32_t)lround(col.g * 255) << 8 | (uint32_t)lround(col.b * 255);
}

/* Pixels of exactly colour col in the box [x0, x1) x [y0, y1), and their
 * mean x and y. */
typedef struct {
  long n;
  double mx, my;
} ink_t;
static ink_t ink(plot_canvas_t *c, uint32_t col, int x0, int y0, int x1, int y1) {
  ink_t k = {0, 0, 0};
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (pixel(c, x, y) == col) k.n++, k.mx += x, k.my += y;
  if (k.n) k.mx /= k.n, k.my /= k.n;
  return k;
}

/* Drops cairo's and fontconfig's caches, which otherwise live until exit
 * and show as leaks under LeakSanitizer and valgrind (the CLI does the same). */
static void drop_caches(void) {
  cairo_debug_reset_static_data();
  FcFini();
}

TestSuite(figures, .fini = drop_caches, .timeout = 30);

Test(figures, memory_canvas_and_grey_images) {
  plot_canvas_t c;
  cr_expect_eq(plot_canvas_open(&c, NULL, 1, 300, 200), CAIRO_STATUS_NULL_POINTER, "SVG needs a file");
  canvas(&c, 300, 200);
  cr_expect_eq(pixel(&c, 150, 100), 0xffffff, "a white page");
  const uint8_t g[4] = {0, 255, 128, 7}; /* 2 x 2 */
  cr_assert_eq(plot_image_grey(c.cr, g, 2, 2, 100, 0, 100, 100), 0);
  /* Square pixels of 50 px, nearest-neighbour: each quarter is one grey. */
  cr_expect_eq(pixel(&c, 125, 25), 0x000000);
  cr_expect_eq(pixel(&c, 175, 25), 0xffffff);
  cr_expect_eq(pixel(&c, 125, 75), 0x808080);
  cr_expect_eq(pixel(&c, 175, 75), 0x070707);
  cr_expect_eq(pixel(&c, 50, 50), 0xffffff, "nothing outside the box");
  cr_expect_eq(plot_canvas_close(&c), 0);
  char b[32];
  plot_pop_shape(b, sizeof b, &(plot_pop_t){"h", 1, 1, 300});
  cr_expect_str_eq(b, "300");
  plot_pop_shape(b, sizeof b, &(plot_pop_t){"conv1", 8, 26, 26});
  cr_expect_str_eq(b, "8x26x26");
}

Test(figures, grid_boxes_tile_the_canvas_without_overlap) {
  int h = plot_grid_height(6, 3, 40, 20, 1200);
  cr_expect_eq(h, (int)(80 + 2 * ((1160.0 / 3 - 20) / 2 + 34)), "two rows of boxes of the images' aspect");
  plot_canvas_t c;
  canvas(&c, 1200, h);
  plot_grid_t g;
  plot_grid_init(&g, &c, 6, 3, 40, 20);
  cr_expect_eq(g.rows, 2);
  cr_expect_float_eq(g.h, g.w / 2, 1, "the images' aspect, within the rounding of the height");
  double x0, y0, x1, y1, x3, y3;
  plot_grid_box(&g, 0, &x0, &y0);
  plot_grid_box(&g, 1, &x1, &y1);
  plot_grid_box(&g, 3, &x3, &y3);
  cr_expect(x1 >= x0 + g.w && y1 == y0, "box 1 right of box 0");
  cr_expect(x3 == x0 && y3 >= y0 + g.h + 20, "box 3 under box 0, room for a caption");
  plot_grid_box(&g, 5, &x1, &y1);
  cr_expect_leq(x1 + g.w, 1200 - 20 + 1e-9);
  cr_expect_leq(y1 + g.h + 34, h + 1e-9);
  plot_canvas_close(&c);
}

static int read_log(const char *text, plot_log_t *log) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  cr_assert(f);
  int err = plot_log_read(log, f);
  fclose(f);
  return err;
}

Test(figures, log_reader_takes_columns_by_name) {
  plot_log_t log;
  /* Columns in another order, one it does not know, CRLF, a blank line. */
  cr_assert_eq(read_log("lr,test_accuracy,epoch,train_accuracy,train_loss\r\n"
                        "0.1,0.93,1,0.88,0.36\r\n\r\n0.1,0.97,2,0.95,0.15\r\n0.1,0.96,3,0.97,0.10\r\n", &log),
               0, "%s", evsnn_error_detail());
  cr_assert_eq(log.n, 3);
  cr_expect_float_eq(log.epoch[2], 3, 0);
  cr_expect_float_eq(log.train_loss[1], 0.15, 1e-12);
  cr_expect_float_eq(log.train_accuracy[0], 0.88, 1e-12);
  cr_expect_float_eq(log.test_accuracy[1], 0.97, 1e-12);
  cr_expect_eq(plot_log_best(&log), 1, "epoch 2 has the best test accuracy");
  plot_log_free(&log);
  cr_expect_null(log.epoch);
  plot_log_free(&log); /* twice is fine */
}

Test(figures, log_reader_says_which_line_and_column_is_wrong) {
  static const struct {
    const char *text, *detail;
  } bad[] = {
      {"", "empty file"},
      {"epoch,loss\n1,0.3\n", "line 1: no column 'train_loss'"},
      {"epoch,train_loss,train_accuracy,test_accuracy\n1,0.3,0.9,0.9\n2,0.2,zero,0.9\n",
       "line 3: column 'train_accuracy': expected a number, got 'zero'"},
      {"epoch,train_loss,train_accuracy,test_accuracy\n1,0.3,0.9,inf\n", "line 2: column 'test_accuracy'"},
      {"epoch,train_loss,train_accuracy,test_accuracy\n1,0.3,0.9\n", "line 2: 3 fields, the header has 4"},
      {"epoch,train_loss,train_accuracy,test_accuracy\n", "no epochs after the header"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    plot_log_t log;
    cr_expect_eq(read_log(bad[i].text, &log), EVSNN_EFORMAT, "case %zu", i);
    cr_expect(strstr(evsnn_error_detail(), bad[i].detail) != NULL, "case %zu: %s", i, evsnn_error_detail());
    cr_expect_null(log.epoch, "case %zu: nothing left allocated", i);
  }
}

Test(figures, curves_put_accuracy_left_and_loss_right) {
  double ep[] = {1, 2, 3, 4}, loss[] = {0.5, 0.3, 0.2, 0.15}, tr[] = {0.8, 0.9, 0.93, 0.95}, te[] = {0.85, 0.88, 0.9, 0.91};
  plot_log_t log = {4, ep, loss, tr, te};
  plot_canvas_t c;
  canvas(&c, 1000, 440);
  cr_assert_eq(plot_curves(&c, &log, "sub"), 0);
  int mid = 550; /* the panels split at 55% of the width */
  ink_t train_l = ink(&c, hex(plot_color(0)), 0, 60, mid, 440), train_r = ink(&c, hex(plot_color(0)), mid, 60, 1000, 440);
  ink_t test_l = ink(&c, hex(plot_color(1)), 0, 60, mid, 440);
  ink_t loss_l = ink(&c, hex(plot_color(2)), 0, 60, mid, 440), loss_r = ink(&c, hex(plot_color(2)), mid, 60, 1000, 440);
  cr_expect_gt(train_l.n, 200);
  cr_expect_gt(test_l.n, 200);
  cr_expect_gt(loss_r.n, 200);
  cr_expect_eq(train_r.n, 0, "no accuracy on the loss panel");
  cr_expect_eq(loss_l.n, 0, "no loss on the accuracy panel");
  plot_canvas_close(&c);
}

Test(figures, membrane_draws_the_true_class_black_and_the_hidden_panel) {
  enum { T = 10, K = 3 };
  double v[(T + 1) * K];
  for (int k = 0; k <= T; k++)
    for (int o = 0; o < K; o++) v[k * K + o] = o == 1 ? 0.5 * k : -0.1 * k * o;
  cr_expect_eq(plot_argmax(v + T * K, K), 1);
  double ties[] = {2, 5, 5};
  cr_expect_eq(plot_argmax(ties, 3), 1, "the first of equals");
  plot_membrane_t m = {.T = T, .n_out = K, .v = v, .label = -1, .subtitle = NULL};
  long black[2];
  for (int with = 0; with < 2; with++) {
    m.label = with ? 1 : -1;
    plot_canvas_t c;
    canvas(&c, 900, 540);
    cr_assert_eq(plot_membrane(&c, &m), 0);
    black[with] = ink(&c, 0x000000, 80, 70, 740, 480).n; /* inside the data area */
    if (with) {
      ink_t up = ink(&c, 0x000000, 80, 70, 740, 480);
      cr_expect_lt(up.my, 300, "the rising true class is drawn in the upper part");
    }
    plot_canvas_close(&c);
  }
  cr_expect_gt(black[1], black[0] + 500, "the true class: a thick black line (%ld vs %ld)", black[1], black[0]);
  /* The hidden panel: the neurons' lines, their spikes, the input image. */
  double h[(T + 1) * 2] = {0};
  uint8_t fired[(T + 1) * 2] = {0}, img[4 * 4];
  memset(img, 255, sizeof img);
  fired[3 * 2 + 1] = 1;
  uint32_t ids[2] = {7, 9};
  m = (plot_membrane_t){.T = T, .n_out = K, .v = v, .label = 1, .image = img, .image_w = 4, .image_h = 4,
                        .n_hid = 2, .h = h, .fired = fired, .hid_ids = ids, .threshold = 1};
  plot_canvas_t c;
  canvas(&c, 900, 900);
  cr_assert_eq(plot_membrane(&c, &m), 0);
  cr_expect_gt(ink(&c, hex(plot_color(1)), 80, 540, 760, 860).n, 30, "neuron 9's line and spike below");
  cr_expect_gt(ink(&c, 0xffffff, 790, 0, 900, 480).n, 84 * 84 / 2, "the white input image beside the legend");
  plot_canvas_close(&c);
}

Test(figures, pick_neurons_nearest_the_target_each_once) {
  const uint32_t counts[] = {0, 5, 3, 5, 20, 4};
  uint32_t pick[4];
  plot_pick_neurons(counts, 6, 4, 4, pick);
  cr_expect_eq(pick[0], 5, "4 spikes: exact");
  cr_expect_eq(pick[1], 1, "then 5 (lower index of the tie 3/5/5 at distance 1)");
  cr_expect_eq(pick[2], 2);
  cr_expect_eq(pick[3], 3);
}

/* The raster's panels: population m of n in the column from 5 + m cw. */
Test(figures, raster_places_each_spike_at_its_step_and_neuron) {
  uint32_t s0[] = {0}, n0[] = {0};          /* step 1, neuron 0: bottom left */
  uint32_t s1[] = {9, 9, 9}, n1[] = {17, 18, 19}; /* step 10, the top neurons: top right */
  plot_spikes_t pops[2] = {{{"input", 1, 1, 20}, 1, s0, n0}, {{"conv1", 2, 2, 5}, 3, s1, n1}};
  plot_canvas_t c;
  canvas(&c, 1200, 720);
  cr_assert_eq(plot_raster(&c, pops, 2, 10, NULL), 0);
  double cw = (1200 - 10) / 2.0, rh = (720 - 60) * 0.7;
  ink_t a = ink(&c, hex(plot_color(0)), 5, 84, (int)(5 + cw), (int)(56 + rh));
  ink_t b = ink(&c, hex(plot_color(1)), (int)(5 + cw), 84, 1200, (int)(56 + rh));
  cr_assert_gt(a.n, 0);
  cr_assert_gt(b.n, 0);
  cr_expect_lt(a.mx, 5 + cw / 2, "step 1 at the left");
  cr_expect_gt(a.my, 56 + rh / 2, "neuron 0 at the bottom");
  cr_expect_gt(b.mx, 5 + cw * 1.5, "step 10 at the right");
  cr_expect_lt(b.my, 56 + rh / 2, "neurons 17-19 of 20 at the top");
  cr_expect_gt(b.n, 2 * a.n, "three marks against one");
  /* Spikes per step under each raster: one bar in each panel. */
  cr_expect_gt(ink(&c, hex(plot_color(1)), (int)(5 + cw), (int)(60 + rh), 1200, 720).n, 20);
  plot_canvas_close(&c);
  uint32_t late[] = {10};
  pops[0].step = late;
  canvas(&c, 1200, 720);
  cr_expect_eq(plot_raster(&c, pops, 2, 10, NULL), CAIRO_STATUS_INVALID_INDEX, "step 10 of steps 0..9");
  pops[0].step = s0;
  uint32_t big[] = {20};
  pops[0].neuron = big;
  cr_expect_eq(plot_raster(&c, pops, 2, 10, NULL), CAIRO_STATUS_INVALID_INDEX, "neuron 20 of 20");
  cr_expect_eq(plot_raster(&c, pops, 0, 10, NULL), CAIRO_STATUS_INVALID_SIZE);
  cr_expect_eq(plot_raster(&c, pops, 2, 0, NULL), CAIRO_STATUS_INVALID_SIZE);
  plot_canvas_close(&c);
}

Test(figures, poisson_reconstruction_counts_spikes_over_t_steps) {
  enum { PX = 400 };
  uint8_t img[PX], out[3 * PX];
  for (int i = 0; i < PX; i++) img[i] = i < 100 ? 0 : i < 200 ? 255 : 128;
  const uint32_t T[3] = {255, 4, 64};
  double mae[3];
  cr_assert_eq(plot_reconstruct_poisson(img, PX, 2, 0, T, 3, out, mae), 0);
  for (int i = 0; i < 200; i++)
    cr_assert_eq(out[i], img[i], "black never spikes, white spikes at every step: pixel %d exact", i);
  for (int i = 200; i < PX; i++) {
    uint8_t g = out[PX + i];
    cr_assert(g == 0 || g == 64 || g == 128 || g == 191 || g == 255, "after 4 steps, 255 x count / 4: got %u", g);
  }
  cr_expect_lt(mae[0], mae[1], "255 steps rebuild closer than 4 (%g, %g)", mae[0], mae[1]);
  double e = 0;
  for (int i = 0; i < PX; i++) e += fabs((double)out[2 * PX + i] - img[i]);
  cr_expect_float_eq(mae[2], e / PX, 1e-9, "mae is the mean absolute error");
  uint8_t again[3 * PX];
  double mae2[3];
  cr_assert_eq(plot_reconstruct_poisson(img, PX, 2, 0, T, 3, again, mae2), 0);
  cr_expect(!memcmp(out, again, sizeof out), "the same stream gives the same pictures");
  cr_assert_eq(plot_reconstruct_poisson(img, PX, 2, 1, T, 3, again, mae2), 0);
  cr_expect(memcmp(out, again, sizeof out), "another index is another draw");
  const uint32_t zero[1] = {0};
  cr_expect_eq(plot_reconstruct_poisson(img, PX, 2, 0, zero, 1, out, mae), EVSNN_ERANGE);
  /* Drawn: the original, then each rebuilt image, in a row. */
  uint8_t black[PX] = {0}, white[PX];
  memset(white, 255, PX);
  plot_canvas_t c;
  canvas(&c, 40 + 170 * 2, 290);
  cr_assert_eq(plot_reconstruct(&c, white, black, 20, 20, T, mae, 1, NULL), 0);
  double cell = (c.width - 40.0) / 2, side = fmin(cell - 16, c.height - 130);
  cr_expect_eq(pixel(&c, 20 + (cell - side) / 2 + side / 2, 74 + side / 2), 0xffffff, "the original");
  cr_expect_eq(pixel(&c, 20 + cell + (cell - side) / 2 + side / 2, 74 + side / 2), 0x000000, "the rebuilt one");
  plot_canvas_close(&c);
}

Test(figures, anytime_line_rises_with_the_accuracy) {
  double acc[10];
  for (int k = 0; k < 10; k++) acc[k] = 0.5 + 0.04 * k;
  plot_canvas_t c;
  canvas(&c, 860, 500);
  cr_assert_eq(plot_anytime(&c, acc, 10, NULL), 0);
  uint32_t col = hex(plot_color(0));
  ink_t left = ink(&c, col, 76, 60, 200, 440), right = ink(&c, col, 700, 60, 846, 430);
  cr_assert(left.n > 0 && right.n > 0);
  cr_expect_gt(left.my, right.my + 100, "50%% at k = 1 sits lower than 86%% at k = 10");
  plot_canvas_close(&c);
}

static evsnn_event_t ev(int64_t t, int x, int y, int p) {
  return (evsnn_event_t){.t = t, .x = (uint16_t)x, .y = (uint16_t)y, .p = (uint8_t)p};
}

Test(figures, frames_bin_events_per_window_and_cell) {
  /* Two chunks, not quite in time order. */
  evsnn_event_t a[] = {ev(1000, 0, 0, 1), ev(900, 3, 1, 0), ev(1500, 1, 0, 1)};
  evsnn_event_t b[] = {ev(2999, 5, 2, 1), ev(2000, 0, 0, 0)};
  plot_extent_t e = {0};
  plot_extent_add(&e, a, 3);
  plot_extent_add(&e, b, 2);
  cr_expect_eq(e.n, 5);
  cr_expect_eq(e.t0, 900);
  cr_expect_eq(e.t1, 2999);
  cr_expect_eq(e.max_x, 5);
  cr_expect_eq(e.max_y, 2);
  plot_frames_t f;
  /* A header saying 4 x 2: the events widen it to 6 x 3. Windows of 1 ms. */
  cr_assert_eq(plot_frames_init(&f, &e, 4, 2, 1000, 12), 0);
  cr_expect_eq(f.width, 6);
  cr_expect_eq(f.height, 3);
  cr_expect_eq(f.n_frames, 3, "900..2999 us in windows of 1000 us");
  cr_expect_eq(f.ds, 1);
  plot_frames_add(&f, a, 3);
  plot_frames_add(&f, b, 2);
  cr_expect_eq(f.shown, 5);
  size_t cells = 6 * 3;
  cr_expect_eq(f.off[0 * cells + 1 * 6 + 3], 1, "t=900: frame 0, OFF at (3, 1)");
  cr_expect_eq(f.on[0 * cells + 0], 1, "t=1000: frame 0");
  cr_expect_eq(f.on[0 * cells + 1], 1, "t=1500: frame 0");
  cr_expect_eq(f.off[1 * cells + 0], 1, "t=2000: frame 1");
  cr_expect_eq(f.on[2 * cells + 2 * 6 + 5], 1, "t=2999: frame 2, ON at (5, 2)");
  plot_frames_free(&f);
  /* Without a window: the span split into at most max_frames. */
  cr_assert_eq(plot_frames_init(&f, &e, 0, 0, 0, 2), 0);
  cr_expect_eq(f.n_frames, 2);
  cr_expect_eq(f.window, 1050, "2100 us in 2 windows");
  plot_frames_free(&f);
  /* A 1280-pixel sensor is binned 4 x 4 to 320 cells across. */
  plot_extent_t wide = {1, 0, 10, 1279, 719};
  cr_assert_eq(plot_frames_init(&f, &wide, 1280, 720, 0, 1), 0);
  cr_expect_eq(f.ds, 4);
  cr_expect_eq(f.cols, 320);
  cr_expect_eq(f.rows, 180);
  evsnn_event_t corner[] = {ev(5, 1279, 719, 1), ev(5, 1276, 716, 1), ev(11, 0, 0, 1)};
  plot_frames_add(&f, corner, 3);
  cr_expect_eq(f.on[179 * 320 + 319], 2, "both corner pixels in the last cell");
  cr_expect_eq(f.shown, 2, "t=11 is after the last frame");
  plot_frames_free(&f);
}

Test(figures, frames_saturate_at_the_98th_percentile_and_colour_on_red_off_blue) {
  plot_extent_t e = {1, 0, 0, 99, 0};
  plot_frames_t f;
  cr_assert_eq(plot_frames_init(&f, &e, 100, 1, 0, 1), 0);
  /* 100 cells: 98 with one event, two hot ones with 50 and 200. */
  for (int i = 0; i < 98; i++) f.on[i] = 1;
  f.on[98] = 50, f.off[99] = 200;
  cr_expect_eq(plot_frames_saturation(&f), 1, "the hot pixels are the top 2%%");
  f.on[97] = 0, f.off[97] = 3;
  cr_expect_eq(plot_frames_saturation(&f), 3, "98%% of the non-empty cells reach 3");
  plot_frames_free(&f);
  /* One frame of 2 x 1 cells: ON only, OFF only. */
  e = (plot_extent_t){1, 0, 0, 1, 0};
  cr_assert_eq(plot_frames_init(&f, &e, 2, 1, 0, 1), 0);
  f.on[0] = 5, f.off[1] = 5;
  plot_canvas_t c;
  canvas(&c, 640, plot_grid_height(1, 1, 2, 1, 640));
  cr_assert_eq(plot_event_frames(&c, &f, 0, 1, 5, "t", NULL), 0);
  plot_grid_t g;
  plot_grid_init(&g, &c, 1, 1, 2, 1);
  double x, y, s;
  plot_grid_box(&g, 0, &x, &y);
  s = fmin(g.w / 2, g.h); /* square cells, centred in the box */
  double ox = x + (g.w - 2 * s) / 2, oy = y + (g.h - s) / 2;
  uint32_t on = pixel(&c, ox + s / 2, oy + s / 2), off = pixel(&c, ox + 1.5 * s, oy + s / 2);
  cr_expect_eq(on, 0xcc2626, "ON: red (%06x)", on);
  cr_expect_eq(off, 0x2659d9, "OFF: blue (%06x)", off);
  plot_canvas_close(&c);
  plot_frames_free(&f);
}

Test(figures, sparsity_bars_scale_with_rates_and_operations) {
  /* Over 2 samples of 5 steps: 1000 inputs at 10% and 100 hidden at 5%. */
  plot_pop_count_t pops[] = {{{"input", 1, 1, 1000}, 1000}, {{"conv1", 1, 10, 10}, 50}};
  plot_proj_count_t projs[] = {{"W1", "1000 -> 100", 100000, 1000000}, {"W2", "100 -> 10", 5000, 10000}};
  plot_canvas_t c;
  canvas(&c, 1100, 480);
  cr_assert_eq(plot_sparsity(&c, pops, 2, projs, 2, 2, 5, NULL), 0);
  int split = (int)(1100 * 0.42 + 10);
  long a = ink(&c, hex(plot_color(0)), 0, 58, split, 480).n, b = ink(&c, hex(plot_color(1)), 0, 58, split, 480).n;
  cr_expect_float_eq((double)a / b, 2, 0.1, "bar areas 10%% : 5%% (%ld, %ld px)", a, b);
  /* Right panel: dense MACs grey, synaptic ops green, 10 x fewer in W1. */
  long dense = ink(&c, hex(PLOT_GREY), split, 58, 1100, 480).n, syn = ink(&c, hex(plot_color(2)), split, 58, 1100, 480).n;
  cr_expect_float_eq((double)dense / syn, (1e6 + 1e4) / (1e5 + 5e3), 1.5, "%ld vs %ld", dense, syn);
  cr_expect_gt(dense, 5 * syn);
  cr_expect_eq(plot_sparsity(&c, pops, 0, projs, 0, 2, 5, NULL), CAIRO_STATUS_INVALID_SIZE);
  plot_canvas_close(&c);
}

Test(figures, maps_draw_each_channel_on_one_grey_scale) {
  /* 4 channels of 3 x 5: empty, full, half, one hot pixel. */
  enum { C = 4, H = 3, W = 5 };
  uint32_t counts[C * H * W] = {0};
  for (int i = 0; i < H * W; i++) counts[1 * H * W + i] = 10, counts[2 * H * W + i] = 5;
  counts[3 * H * W + 1 * W + 2] = 10;
  plot_pop_t pop = {"conv1", C, H, W};
  cr_expect_eq(plot_maps_cols(4), 2);
  cr_expect_eq(plot_maps_cols(5), 3);
  cr_expect_eq(plot_maps_cols(16), 4);
  int w, h;
  plot_maps_size(&pop, &w, &h);
  cr_expect_eq(w, 440);
  cr_expect_eq(h, plot_grid_height(C, 2, W, H, 440));
  plot_canvas_t c;
  canvas(&c, w, h);
  cr_assert_eq(plot_maps(&c, &pop, counts, "a window"), 0);
  plot_grid_t g;
  plot_grid_init(&g, &c, C, 2, W, H);
  double s = fmin(g.w / W, g.h / H);
  uint32_t want[C] = {0x000000, 0xffffff, 0x808080, 0x000000};
  for (uint32_t ch = 0; ch < C; ch++) {
    double x, y;
    plot_grid_box(&g, ch, &x, &y);
    double ox = x + (g.w - s * W) / 2, oy = y + (g.h - s * H) / 2;
    /* The centre of map pixel (row 0, column 0), and of (1, 2). */
    cr_expect_eq(pixel(&c, ox + s / 2, oy + s / 2), want[ch], "channel %u", ch);
    if (ch == 3) cr_expect_eq(pixel(&c, ox + 2.5 * s, oy + 1.5 * s), 0xffffff, "the hot pixel at row 1, column 2");
  }
  plot_canvas_close(&c);
}

Test(plot, curves_from_a_training_log) {
  char log[400], args[600], out[4096];
  write_text("train.csv", "epoch,train_loss,train_accuracy,test_accuracy,seconds,samples_per_second,lr\n"
             "1,0.36,0.889,0.935,9.7,6135.9,0.0001\n2,0.15,0.955,0.953,8.7,6857.9,0.0001\n"
             "3,0.10,0.968,0.962,8.5,7017.5,0.0001\n", log, sizeof log);
  snprintf(args, sizeof args, "curves %s", log);
  plot_ok(args, "curves.png", 1000, 440, out, sizeof out);
  snprintf(args, sizeof args, "curves %s --size 640x360", log);
  plot_ok(args, "curves-small.png", 640, 360, out, sizeof out);
}

Test(plot, membrane_of_one_test_image) {
  char args[600], out[4096];
  snprintf(args, sizeof args, "membrane --model %s --data datasets/sample --index 3 --steps 12", model);
  plot_ok(args, "membrane.png", 900, 540, out, sizeof out);
  cr_expect(strstr(out, "label 0, predicted ") != NULL, "stdout: %s", out); /* sample test image 3 is a 0 */
  snprintf(args, sizeof args, "membrane --model %s --data datasets/sample --index 3 --hidden 4", model);
  plot_ok(args, "membrane-hidden.png", 900, 900, out, sizeof out);
}

Test(plot, raster_from_data_and_from_its_recording_agree) {
  char args[800], out[4096], out2[4096], spikes[400], a[400], b[400];
  snprintf(spikes, sizeof spikes, "%s/spikes.evsnn", tmp);
  snprintf(args, sizeof args, "raster --model %s --data datasets/sample --index 0 --steps 15 --record %s", model, spikes);
  plot_ok(args, "raster.png", 1200, 720, out, sizeof out);
  snprintf(args, sizeof args, "raster --model %s %s", model, spikes);
  plot_ok(args, "raster-file.png", 1200, 720, out2, sizeof out2);
  const char *n1 = strstr(out, "spikes over 15 steps"), *n2 = strstr(out2, "spikes over 15 steps");
  cr_assert(n1 && n2, "%s / %s", out, out2);
  cr_expect(!strcmp(strchr(out, '\n') + 1, strchr(out2, '\n') + 1), "%s vs %s", out, out2);
  /* Below the subtitle (which names the source) the pictures are equal. */
  snprintf(a, sizeof a, "%s/raster.png", tmp);
  snprintf(b, sizeof b, "%s/raster-file.png", tmp);
  cairo_surface_t *sa = cairo_image_surface_create_from_png(a), *sb = cairo_image_surface_create_from_png(b);
  int stride = cairo_image_surface_get_stride(sa);
  cr_expect(!memcmp(cairo_image_surface_get_data(sa) + 52 * stride, cairo_image_surface_get_data(sb) + 52 * stride,
                    (size_t)(720 - 52) * stride), "the raster drawn from the recording differs");
  cairo_surface_destroy(sa);
  cairo_surface_destroy(sb);
}

Test(plot, reconstruct_and_svg) {
  char args[600], out[4096], path[400];
  plot_ok("reconstruct --data datasets/sample --index 0 --steps 5,20,255", "recon.png", 40 + 170 * 4, 290, out,
          sizeof out);
  cr_expect(strstr(out, "T=5 ") && strstr(out, "T=255 "), "stdout: %s", out);
  /* More steps, closer to the image: the error at T=255 is below T=5's. */
  double e5 = atof(strstr(out, "T=5 ") + 4), e255 = atof(strstr(out, "T=255 ") + 6);
  cr_expect(e255 < e5 && e5 > 0, "errors %g %g", e5, e255);
  snprintf(path, sizeof path, "%s/recon.svg", tmp);
  snprintf(args, sizeof args, "plot reconstruct --data datasets/sample --index 0 --svg --size 640x300 --out %s", path);
  char err[4096];
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  FILE *f = fopen(path, "r");
  cr_assert(f);
  char head[512] = {0};
  cr_expect(fread(head, 1, sizeof head - 1, f) > 100);
  fclose(f);
  cr_expect(!strncmp(head, "<?xml", 5) && strstr(head, "<svg") && strstr(head, "width=\"640") &&
                strstr(head, "height=\"300"), "head: %s", head);
}

Test(plot, anytime_draws_what_evsnn_test_prints) {
  char args[600], out[8192], out2[8192], err[4096];
  snprintf(args, sizeof args, "anytime --model %s --data datasets/sample --limit 60 --steps 8", model);
  plot_ok(args, "anytime.png", 860, 500, out, sizeof out);
  snprintf(args, sizeof args, "test --model %s --data datasets/sample --limit 60 --steps 8", model);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "%s", err);
  char *a = strstr(out, "anytime ("), *b = strstr(out2, "anytime (");
  cr_assert(a && b, "%s / %s", out, out2);
  a[strcspn(a, "\n")] = 0, b[strcspn(b, "\n")] = 0;
  cr_expect_str_eq(a, b);
}

Test(plot, sparsity_draws_the_test_counters) {
  char args[600], out[4096], want[256];
  snprintf(args, sizeof args, "sparsity --model %s --data datasets/sample --limit 40", model);
  plot_ok(args, "sparsity.png", 1100, 480, out, sizeof out);
  evsnn_net_t net;
  evsnn_dataset_t train, test;
  cr_assert_eq(evsnn_model_load(model, &net, NULL, NULL), 0);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/datasets/sample", getenv("EVSNN_SRCDIR") ? getenv("EVSNN_SRCDIR") : ".");
  cr_assert_eq(evsnn_dataset_load_dir(&train, &test, dir, NULL, NULL, 0), 0);
  evsnn_dataset_limit(&test, 40);
  double acc;
  evsnn_counts_t c;
  evsnn_test_t pass = {.T = 5, .seed = 2, .engine = EVSNN_ENGINE_EVENT, .counts = &c};
  cr_assert_eq(evsnn_test_accuracy(&net, &test, &pass, &acc), 0);
  snprintf(want, sizeof want, "per image: spikes %.1f %.1f %.1f; synaptic ops %.0f vs dense MACs %.0f", c.spikes[0] / 40.0,
           c.spikes[1] / 40.0, c.spikes[2] / 40.0, (c.synops[0] + c.synops[1] + c.synops[2]) / 40.0,
           (c.dense_macs[0] + c.dense_macs[1] + c.dense_macs[2]) / 40.0);
  cr_expect(strstr(out, want) != NULL, "want %s, got %s", want, out);
  cr_expect(c.synops[0] > 0 && c.synops[0] < c.dense_macs[0]);
  evsnn_dataset_free(&train);
  evsnn_dataset_free(&test);
  evsnn_net_free(&net);
}

/* A 64x48 recording: a vertical bar sweeping right over 120 ms, ON at its
 * leading edge and OFF at its trailing edge, one event per pixel and ms. */
static void write_bar(const char *path) {
  evsnn_event_info_t info = {.format = "evsnn", .width = 64, .height = 48, .channels = 2, .kind = EVSNN_EVENTS_DVS,
                             .label = -1, .meta = ""};
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, path, &info), 0, "%s", evsnn_error_detail());
  for (int ms = 0; ms < 120; ms++) {
    int x = 4 + ms / 3;
    for (int y = 8; y < 40; y++) {
      evsnn_event_t ev[2] = {{.t = ms * 1000, .x = (uint16_t)(x + 4), .y = (uint16_t)y, .p = 1},
                             {.t = ms * 1000, .x = (uint16_t)x, .y = (uint16_t)y, .p = 0}};
      cr_assert_eq(evsnn_event_write(w, ev, 2), 0);
    }
  }
  cr_assert_eq(evsnn_event_writer_close(w), 0);
}

Test(plot, events_as_frames) {
  char file[400], args[600], out[4096];
  snprintf(file, sizeof file, "%s/bar.evsnn", tmp);
  write_bar(file);
  snprintf(args, sizeof args, "events %s --window 20 --size 900x600", file);
  plot_ok(args, "events.png", 900, 600, out, sizeof out);
  cr_expect(strstr(out, "6 frames of 20 ms, 7680 of 7680 events shown") != NULL, "stdout: %s", out);
  snprintf(args, sizeof args, "events %s --frames 4 --size 900x400", file);
  plot_ok(args, "events4.png", 900, 400, out, sizeof out);
  cr_expect(strstr(out, "4 frames of 29.8 ms, 7680 of 7680 events shown") != NULL, "stdout: %s", out);
  /* --split: one picture per window, numbered from the --out name. */
  char err[4096];
  snprintf(args, sizeof args, "plot events %s --frames 3 --split --size 400x300 --out %s/frame.png", file, tmp);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "frame-002.png (400x300 PNG)") && strstr(out, "3 frames of 39.7 ms"), "stdout: %s", out);
  for (int f = 0; f < 3; f++) {
    char path[400];
    snprintf(path, sizeof path, "%s/frame-%03d.png", tmp, f);
    cairo_surface_destroy(check_png(path, 400, 300, 200));
  }
  snprintf(args, sizeof args, "%s/frame-003.png", tmp);
  cr_expect_eq(access(args, F_OK), -1, "3 frames, not 4");
}

Test(plot, errors_are_one_line_and_non_zero) {
  char args[800], out[4096], err[4096];
  snprintf(args, sizeof args, "plot curves %s/none.csv --out %s/x.png", tmp, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "none.csv: No such file") != NULL && count_lines(err) == 1, "stderr: %s", err);
  char log[400];
  write_text("bad.csv", "epoch,train_loss,train_accuracy,test_accuracy\n1,0.3,0.9,0.9\n2,0.2,zero,0.9\n", log, sizeof log);
  snprintf(args, sizeof args, "plot curves %s --out %s/x.png", log, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "bad.csv: not a file of the expected format: line 3: column 'train_accuracy': expected a "
                        "number, got 'zero'") != NULL && count_lines(err) == 1, "stderr: %s", err);
  snprintf(log, sizeof log, "%s/x.png", tmp);
  cr_expect_eq(access(log, F_OK), -1, "no picture is left behind a failure");
  snprintf(args, sizeof args, "plot membrane --model %s --data datasets/sample --index 1000 --out %s/x.png", model, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "--index 1000: out of range") != NULL && count_lines(err) == 1, "stderr: %s", err);
  snprintf(args, sizeof args, "plot anytime --model %s/none.evsnn --data datasets/sample --out %s/x.png", tmp, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "none.evsnn") != NULL && count_lines(err) == 1, "stderr: %s", err);
  snprintf(args, sizeof args, "plot sparsity --model %s --data /nonexistent --out %s/x.png", model, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "/nonexistent") != NULL && count_lines(err) == 1, "stderr: %s", err);
  snprintf(args, sizeof args, "plot events %s/none.evsnn --out %s/x.png", tmp, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(count_lines(err) == 1, "stderr: %s", err);
  snprintf(args, sizeof args, "plot events %s --out %s/x.png", model, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1, "a model file is not an event file");
  cr_expect(count_lines(err) == 1, "stderr: %s", err);
  snprintf(args, sizeof args, "plot reconstruct --data datasets/sample --index 0 --out %s/no/dir.png", tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "no/dir.png: No such file or directory") != NULL && count_lines(err) == 1, "stderr: %s", err);
  cr_expect_eq(run("plot", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("plot pie", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("plot membrane --model m --data d", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--index") != NULL, "stderr: %s", err);
  cr_expect_eq(run("plot reconstruct --data d --index 0 --steps 5,x", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("plot curves a.csv --window 3", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("plot curves a.csv --size 10x10", out, sizeof out, err, sizeof err), 2);
}

Test(plot, every_kind_writes_svg_of_the_asked_size) {
  char log[400], bar[400], spikes[400], args[1200], out[8192], err[4096], path[400];
  write_text("train.csv", "epoch,train_loss,train_accuracy,test_accuracy\n1,0.36,0.889,0.935\n2,0.15,0.955,0.953\n", log,
             sizeof log);
  snprintf(bar, sizeof bar, "%s/bar.evsnn", tmp);
  write_bar(bar);
  snprintf(spikes, sizeof spikes, "%s/spikes.evsnn", tmp);
  const char *fmt[] = {
      "curves %s",
      "membrane --model %s --data datasets/sample --index 1 --hidden 2",
      "raster --model %s --data datasets/sample --index 1 --steps 6 --record %s",
      "raster --model %s %s",
      "reconstruct --data datasets/sample --index 1 --steps 3,30",
      "anytime --model %s --data datasets/sample --limit 20 --steps 4",
      "events %s --frames 3",
      "sparsity --model %s --data datasets/sample --limit 20",
  };
  const char *a1[] = {log, model, model, model, "", model, bar, model};
  for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
    char kind[300];
    snprintf(kind, sizeof kind, fmt[i], a1[i], spikes);
    snprintf(path, sizeof path, "%s/p%zu.svg", tmp, i);
    snprintf(args, sizeof args, "plot %s --svg --size 720x480 --out %s", kind, path);
    cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s: %s", args, err);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    char head[400] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    cr_expect(n > 200 && !strncmp(head, "<?xml", 5) && strstr(head, "<svg") && strstr(head, "width=\"720pt\"") &&
                  strstr(head, "height=\"480pt\""), "%s: %s", kind, head);
    cr_expect_gt(size, 5000, "%s: %ld bytes", kind, size);
  }
}

/* ------------------------------------------------------- graph networks ---- */

/* A convolutional model saved as a file: name in tmp, description desc,
 * weights |U(-a, a)| so that activity reaches every population. */
static void save_graph(const char *name, const char *desc, char *path, size_t cap) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_parse(&net, desc), 0, "%s", desc);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_FANIN, NULL);
  for (size_t i = 0; i < net.n_params; i++) net.params[i] = fabsf(net.params[i]);
  snprintf(path, cap, "%s/%s", tmp, name);
  cr_assert_eq(evsnn_model_save(path, &net, NULL, NULL), 0, "%s", evsnn_error_detail());
  evsnn_net_free(&net);
}

/* raster and sparsity on a conv graph over an event dataset (two sample
 * digits through the emulated sensor), binned as evsnn test bins it: the
 * raster drawn from the run and from its recording agree, and sparsity
 * prints the counters evsnn stats reports. */
Test(plot, raster_and_sparsity_of_a_conv_graph_on_events) {
  char conv[400], dvs[400], spikes[400], args[2048], out[8192], out2[8192], err[4096];
  save_graph("conv.evsnn", "2x34x34 conv2c2s2 lif[th=0.3] dense10 li", conv, sizeof conv);
  snprintf(dvs, sizeof dvs, "%s/dvs", tmp);
  snprintf(args, sizeof args, "encode dvs --data datasets/sample --limit 2 --out %s --threads 1", dvs);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  snprintf(spikes, sizeof spikes, "%s/conv-spikes.evsnn", tmp);
  snprintf(args, sizeof args, "raster --model %s --data %s --index 1 --steps 8 --record %s", conv, dvs, spikes);
  plot_ok(args, "raster-conv.png", 1200, 720, out, sizeof out);
  snprintf(args, sizeof args, "raster --model %s %s", conv, spikes);
  plot_ok(args, "raster-conv-file.png", 1200, 720, out2, sizeof out2);
  cr_assert(strstr(out, "spikes over 8 steps"), "%s", out);
  cr_expect_str_eq(strchr(out, '\n') + 1, strchr(out2, '\n') + 1);
  /* The recording holds the input and conv1 (the LI readout never spikes). */
  evsnn_event_reader_t *r;
  cr_assert_eq(evsnn_event_reader_open(&r, spikes, NULL), 0);
  evsnn_event_t ev[4096];
  size_t n, per[2] = {0, 0};
  while (evsnn_event_read(r, ev, 4096, &n) == 0 && n)
    for (size_t i = 0; i < n; i++) {
      uint32_t pop, neuron;
      evsnn_spike_decode(&ev[i], &pop, &neuron);
      cr_assert(pop < 2 && neuron < (pop ? 2u * 17 * 17 : 2u * 34 * 34), "pop %u neuron %u", pop, neuron);
      per[pop]++;
    }
  evsnn_event_reader_close(r);
  cr_expect(per[0] > 0 && per[1] > 0, "%zu %zu", per[0], per[1]);
  snprintf(args, sizeof args, "sparsity --model %s --data %s --steps 5", conv, dvs);
  plot_ok(args, "sparsity-conv.png", 1100, 480, out, sizeof out);
  snprintf(args, sizeof args, "stats --model %s --data %s --steps 5", conv, dvs);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "%s", err);
  /* stats' totals line: "synops S vs dense MACs D: ...; per sample s vs d". */
  const char *ps = strstr(out2, "per sample ");
  cr_assert(ps, "%s", out2);
  double syn = atof(ps + 11), mac = atof(strstr(ps, " vs ") + 4);
  char want[200];
  snprintf(want, sizeof want, "; synaptic ops %.0f vs dense MACs %.0f", syn, mac);
  cr_expect(strstr(out, want) != NULL, "want %s in %s", want, out);
  cr_expect_float_eq(mac, 5.0 * (2 * 17 * 17 * 2 * 2 * 2 + 578 * 10), 0.5);
}

/* maps: one picture per convolutional population, of the size
 * plot_maps_size gives, over the window asked for; the spike totals it
 * prints are the discrete engine's on the recording binned in 1 ms steps
 * (a model trained on images records no step). */
Test(plot, maps_of_each_conv_population_over_a_window) {
  char conv[400], bar[400], args[1200], out[8192], err[4096], path[400];
  save_graph("maps.evsnn", "2x48x64 conv4c4s4 lif[th=0.3] conv2c3p1 lif[th=0.3] dense3 li", conv, sizeof conv);
  snprintf(bar, sizeof bar, "%s/bar.evsnn", tmp);
  write_bar(bar);
  snprintf(args, sizeof args, "plot maps --model %s %s --out %s/maps.png", conv, bar, tmp);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  const plot_pop_t pops[] = {{"conv1", 4, 12, 16}, {"conv2", 2, 12, 16}};
  for (int i = 0; i < 2; i++) {
    int w, h;
    plot_maps_size(&pops[i], &w, &h);
    snprintf(path, sizeof path, "%s/maps-%s.png", tmp, pops[i].name);
    cairo_surface_destroy(check_png(path, w, h, 2000));
  }
  cr_expect(strstr(out, "120 steps of 1000 us:"), "%s", out);
  /* The same run through the library. */
  evsnn_net_t net;
  cr_assert_eq(evsnn_model_load(conv, &net, NULL, NULL), 0);
  evsnn_binned_t b;
  cr_assert_eq(evsnn_binned_init(&b, evsnn_net_inputs(&net), 120, 0, EVSNN_BIN_BINARY), 0);
  evsnn_sensor_map_t map = {0};
  cr_assert_eq(evsnn_binned_read_file(&b, bar, &map, 1000, NULL), 0);
  evsnn_state_t st;
  cr_assert_eq(evsnn_state_init(&st, &net), 0);
  for (uint32_t k = 0; k < b.T; k++) evsnn_state_step(&st, b.idx + b.start[k], b.start[k + 1] - b.start[k]);
  char want[200];
  snprintf(want, sizeof want, "conv1 %llu spikes, conv2 %llu spikes", (unsigned long long)st.counts.spikes[1],
           (unsigned long long)st.counts.spikes[2]);
  cr_expect(st.counts.spikes[1] > 0 && st.counts.spikes[2] > 0 && strstr(out, want), "want %s in %s", want, out);
  evsnn_state_free(&st);
  evsnn_binned_free(&b);
  evsnn_net_free(&net);
  /* A window: its steps only. */
  snprintf(args, sizeof args, "plot maps --model %s %s --window 10 --out %s/w.png", conv, bar, tmp);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "10 steps of 1000 us:") && strstr(out, "w-conv2.png"), "%s", out);
  /* Errors: no convolution to draw, a missing recording, network spikes. */
  snprintf(args, sizeof args, "plot maps --model %s %s --out %s/x.png", model, bar, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "no convolutional population") && count_lines(err) == 1, "%s", err);
  snprintf(args, sizeof args, "plot maps --model %s %s/none.evs --out %s/x.png", conv, tmp, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "none.evs") && count_lines(err) == 1, "%s", err);
  snprintf(args, sizeof args, "plot maps --model %s/none.evsnn %s --out %s/x.png", tmp, bar, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "none.evsnn") && count_lines(err) == 1, "%s", err);
  cr_expect_eq(run("plot maps --model m.evsnn", out, sizeof out, err, sizeof err), 2, "FILE is required");
  cr_expect_eq(run("plot maps f.evs", out, sizeof out, err, sizeof err), 2, "--model is required");
  snprintf(path, sizeof path, "%s/x.png", tmp);
  cr_expect_eq(access(path, F_OK), -1, "no picture is left behind a failure");
}
