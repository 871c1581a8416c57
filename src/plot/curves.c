/* The training curves (plot.h): train --log's CSV read into arrays, and
 * accuracy and loss per epoch drawn from them (the paper's figure 4). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "plot/plot.h"

static const char *const columns[4] = {"epoch", "train_loss", "train_accuracy", "test_accuracy"};

static double **log_column(plot_log_t *log, int j) {
  double **cols[4] = {&log->epoch, &log->train_loss, &log->train_accuracy, &log->test_accuracy};
  return cols[j];
}

void plot_log_free(plot_log_t *log) {
  for (int j = 0; j < 4; j++) free(*log_column(log, j));
  memset(log, 0, sizeof *log);
}

static int log_fail(plot_log_t *log, int err) {
  plot_log_free(log);
  return err;
}

int plot_log_read(plot_log_t *log, FILE *f) {
  memset(log, 0, sizeof *log);
  int col[4] = {-1, -1, -1, -1}, ncol = 0;
  char line[4096];
  size_t cap = 0;
  if (!fgets(line, sizeof line, f))
    return evsnn__fail(EVSNN_EFORMAT, "empty file, expected a training log (evsnn train --log)");
  line[strcspn(line, "\r\n")] = 0;
  for (char *s = line, *tok; (tok = strsep(&s, ",")); ncol++)
    for (int j = 0; j < 4; j++)
      if (!strcmp(tok, columns[j])) col[j] = ncol;
  for (int j = 0; j < 4; j++)
    if (col[j] < 0)
      return evsnn__fail(EVSNN_EFORMAT, "line 1: no column '%s', which evsnn train --log writes", columns[j]);
  for (unsigned ln = 2; fgets(line, sizeof line, f); ln++) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) continue;
    if (log->n == cap) {
      cap = cap ? 2 * cap : 64;
      for (int j = 0; j < 4; j++) {
        double *p = realloc(*log_column(log, j), cap * sizeof(double));
        if (!p) return log_fail(log, evsnn__fail(EVSNN_ENOMEM, "a training log of %zu epochs", cap));
        *log_column(log, j) = p;
      }
    }
    int c = 0, got = 0;
    for (char *s = line, *tok; (tok = strsep(&s, ",")); c++)
      for (int j = 0; j < 4; j++)
        if (c == col[j]) {
          double *v = &(*log_column(log, j))[log->n];
          char *end;
          errno = 0;
          *v = strtod(tok, &end);
          if (errno || end == tok || *end || !isfinite(*v))
            return log_fail(log, evsnn__fail(EVSNN_EFORMAT, "line %u: column '%s': expected a number, got '%s'", ln,
                                             columns[j], tok));
          got++;
        }
    if (got != 4)
      return log_fail(log, evsnn__fail(EVSNN_EFORMAT, "line %u: %d fields, the header has %d", ln, c, ncol));
    log->n++;
  }
  if (log->n == 0) return log_fail(log, evsnn__fail(EVSNN_EFORMAT, "no epochs after the header"));
  return 0;
}

size_t plot_log_best(const plot_log_t *log) {
  size_t best = 0;
  for (size_t i = 0; i < log->n; i++)
    if (log->test_accuracy[i] > log->test_accuracy[best]) best = i;
  return best;
}

int plot_curves(plot_canvas_t *c, const plot_log_t *log, const char *subtitle) {
  size_t n = log->n;
  const double *ep = log->epoch, *loss = log->train_loss;
  double *tr = malloc(2 * n * sizeof(double)), *te = tr + n; /* accuracies in % */
  if (!tr) return CAIRO_STATUS_NO_MEMORY;
  double lo = 100, hi = 0, lmax = 0;
  for (size_t i = 0; i < n; i++) {
    tr[i] = log->train_accuracy[i] * 100, te[i] = log->test_accuracy[i] * 100;
    lo = fmin(lo, fmin(tr[i], te[i]));
    hi = fmax(hi, fmax(tr[i], te[i]));
    lmax = fmax(lmax, loss[i]);
  }
  char lab[64];
  plot_title(c, "Accuracy and loss per epoch", subtitle);
  double W = c->width, H = c->height;
  plot_axes_t a;
  plot_axes_init(&a, c, 10, 58, W * 0.55, H - 62, "accuracy");
  a.xint = 1;
  double top = fmin(100, ceil(hi + 0.5));
  plot_axes_range(&a, ep[0] - 0.5, ep[n - 1] + 0.5, plot_floor_to(lo - 0.5, top - lo > 10 ? 5 : 1), top);
  plot_axes_draw(&a, "epoch", "accuracy (%)", 8, 6);
  plot_line(&a, ep, tr, n, plot_color(0), 2.2);
  plot_points(&a, ep, tr, n, plot_color(0), 3.5);
  plot_line(&a, ep, te, n, plot_color(1), 2.2);
  plot_points(&a, ep, te, n, plot_color(1), 3.5);
  a.legend_y = a.y + a.h - 50;
  snprintf(lab, sizeof lab, "train (final %.2f%%)", tr[n - 1]);
  plot_legend(&a, lab, plot_color(0), 2.2, 0, PLOT_LEGEND_RIGHT);
  snprintf(lab, sizeof lab, "test (final %.2f%%)", te[n - 1]);
  plot_legend(&a, lab, plot_color(1), 2.2, 0, PLOT_LEGEND_RIGHT);
  plot_axes_init(&a, c, W * 0.55 + 20, 58, W * 0.45 - 30, H - 62, "training loss (cross-entropy)");
  a.xint = 1;
  plot_axes_range(&a, ep[0] - 0.5, ep[n - 1] + 0.5, 0, lmax * 1.08);
  plot_axes_draw(&a, "epoch", "mean loss", 8, 6);
  plot_line(&a, ep, loss, n, plot_color(2), 2.2);
  plot_points(&a, ep, loss, n, plot_color(2), 3.5);
  free(tr);
  return cairo_status(c->cr);
}
