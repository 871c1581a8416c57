/* evsnn plot: the tick layer's arithmetic, then every picture as a user
 * makes it with the built binary, from a small model (the paper's
 * initialisation, saved to a file) and the committed sample. Each PNG is
 * read back with cairo and checked for its size and for ink; the numbers
 * the plots print are checked against `evsnn test` and the library call
 * they come from; error paths give one line and a non-zero exit. */
#include <cairo.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Runs `evsnn ARGS` from the source tree (for datasets/sample); returns
 * the exit status with stdout and stderr captured. */
static int run(const char *args, char *out, size_t out_cap, char *err, size_t err_cap) {
  const char *build = getenv("EVSNN_BUILDDIR"), *src = getenv("EVSNN_SRCDIR");
  char cmd[8192], eo[400];
  snprintf(eo, sizeof eo, "%s/stderr", tmp);
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s/evsnn' %s 2>'%s'", src ? src : ".", build ? build : ".", args, eo);
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  size_t n = fread(out, 1, out_cap - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  FILE *e = fopen(eo, "r");
  n = e ? fread(err, 1, err_cap - 1, e) : 0;
  err[n] = '\0';
  if (e) fclose(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

Test(plot, curves_from_a_training_log) {
  char log[400], args[600], out[4096];
  snprintf(log, sizeof log, "%s/train.csv", tmp);
  FILE *f = fopen(log, "w");
  fputs("epoch,train_loss,train_accuracy,test_accuracy,seconds,samples_per_second,lr\n"
        "1,0.36,0.889,0.935,9.7,6135.9,0.0001\n2,0.15,0.955,0.953,8.7,6857.9,0.0001\n"
        "3,0.10,0.968,0.962,8.5,7017.5,0.0001\n", f);
  fclose(f);
  snprintf(args, sizeof args, "curves %s", log);
  plot_ok(args, "curves.png", 1000, 440, out, sizeof out);
  snprintf(args, sizeof args, "curves %s --size 640x360", log);
  plot_ok(args, "curves-small.png", 640, 360, out, sizeof out);
}

Test(plot, curves_reject_a_bad_log_in_one_line) {
  char log[400], args[600], out[4096], err[4096];
  snprintf(args, sizeof args, "plot curves %s/none.csv --out %s/x.png", tmp, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "none.csv: No such file") != NULL && count_lines(err) == 1, "stderr: %s", err);
  snprintf(log, sizeof log, "%s/bad.csv", tmp);
  FILE *f = fopen(log, "w");
  fputs("epoch,loss\n1,0.3\n", f);
  fclose(f);
  snprintf(args, sizeof args, "plot curves %s --out %s/x.png", log, tmp);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "line 1: no column 'train_loss'") != NULL && count_lines(err) == 1, "stderr: %s", err);
  f = fopen(log, "w");
  fputs("epoch,train_loss,train_accuracy,test_accuracy\n1,0.3,0.9,0.9\n2,0.2,zero,0.9\n", f);
  fclose(f);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "line 3: column 'train_accuracy': expected a number, got 'zero'") != NULL &&
                count_lines(err) == 1, "stderr: %s", err);
  f = fopen(log, "w");
  fputs("epoch,train_loss,train_accuracy,test_accuracy\n", f);
  fclose(f);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "no epochs") != NULL, "stderr: %s", err);
  snprintf(log, sizeof log, "%s/x.png", tmp);
  cr_expect_eq(access(log, F_OK), -1, "no picture is left behind a failure");
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
  snprintf(log, sizeof log, "%s/train.csv", tmp);
  FILE *f = fopen(log, "w");
  fputs("epoch,train_loss,train_accuracy,test_accuracy\n1,0.36,0.889,0.935\n2,0.15,0.955,0.953\n", f);
  fclose(f);
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
    f = fopen(path, "r");
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
