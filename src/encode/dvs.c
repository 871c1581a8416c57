/* The DVS emulator (evsnn/dvs.h, docs/dvs-emulator.md): per-pixel log
 * intensity references, threshold crossings at times interpolated between
 * frames, a refractory period, threshold mismatch and background noise,
 * and the N-MNIST saccade path that turns a still image into a recording.
 *
 * A feed is all or nothing: it updates the pixels it changes in place and
 * logs their old state, rolled back when the events did not fit the
 * caller's buffer, so a too-small buffer can be enlarged and the same
 * frame fed again. Pixels that saw no change (most of a digit's sensor)
 * cost a comparison. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/dvs.h"

void evsnn_dvs_params_default(evsnn_dvs_params_t *p) {
  memset(p, 0, sizeof *p);
  p->width = p->height = 34;
  p->c_on = p->c_off = 0.25f;
  p->c_min = 0.01f;
  p->eps = 0.1f;
  p->seed = 1;
}

/* Uniform in (0, 1] with 53 bits, for logarithms. */
static double uniform_open0(evsnn_rng_t *rng) { return (double)((evsnn_rng_next(rng) >> 11) + 1) * 0x1.0p-53; }

/* A standard normal draw (Box-Muller; the second value is not kept, so
 * every pixel's draw depends only on its position in the sequence). */
static double normal(evsnn_rng_t *rng) {
  double u = uniform_open0(rng), v = uniform_open0(rng);
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* L = ln(I + eps) with I clamped to [0, 1]; black, most of a digit's
 * frame, takes the precomputed ln(eps) instead of a logf. */
static float log_intensity(float v, float eps, float log_eps) {
  if (!(v > 0.0f)) return log_eps;
  return logf((v > 1.0f ? 1.0f : v) + eps);
}

void evsnn_dvs_free(evsnn_dvs_t *s) {
  free(s->thr_on);
  free(s->thr_off);
  free(s->ref);
  free(s->lprev);
  free(s->t_last);
  free(s->undo_i);
  free(s->undo_ref);
  free(s->undo_l);
  free(s->undo_t);
  free(s->buf);
  free(s->noise);
  memset(s, 0, sizeof *s);
}

int evsnn_dvs_init(evsnn_dvs_t *s, const evsnn_dvs_params_t *p) {
  memset(s, 0, sizeof *s);
  if (!p->width || !p->height || p->width > 65536 || p->height > 65536 ||
      (uint64_t)p->width * p->height > (UINT64_C(1) << 26))
    return evsnn__fail(EVSNN_EINVAL, "dvs: sensor %ux%u (each side 1..65536, at most 2^26 pixels)", p->width,
                       p->height);
  if (!(p->c_on > 0) || !(p->c_off > 0) || !(p->c_min > 0))
    return evsnn__fail(EVSNN_EINVAL, "dvs: thresholds must be > 0 (on %g, off %g, min %g)", p->c_on, p->c_off,
                       p->c_min);
  if (!(p->eps > 0)) return evsnn__fail(EVSNN_EINVAL, "dvs: eps must be > 0, got %g", p->eps);
  if (!(p->refractory_us >= 0) || !(p->noise_hz >= 0) || !(p->mismatch >= 0))
    return evsnn__fail(EVSNN_EINVAL, "dvs: refractory (%g us), noise (%g Hz) and mismatch (%g) must be >= 0",
                       p->refractory_us, p->noise_hz, p->mismatch);
  s->p = *p;
  s->n = p->width * p->height;
  size_t n = s->n;
  s->thr_on = malloc(n * sizeof(float));
  s->thr_off = malloc(n * sizeof(float));
  s->ref = malloc(n * sizeof(float));
  s->lprev = malloc(n * sizeof(float));
  s->undo_i = malloc(n * sizeof(uint32_t));
  s->undo_ref = malloc(n * sizeof(float));
  s->undo_l = malloc(n * sizeof(float));
  s->t_last = malloc(n * sizeof(double));
  s->undo_t = malloc(n * sizeof(double));
  if (!s->thr_on || !s->thr_off || !s->ref || !s->lprev || !s->undo_i || !s->undo_ref || !s->undo_l || !s->t_last ||
      !s->undo_t) {
    evsnn_dvs_free(s);
    return evsnn__fail(EVSNN_ENOMEM, "dvs: %ux%u sensor", p->width, p->height);
  }
  /* The mismatch is the chip's: the same for every recording. */
  evsnn_rng_t rng;
  evsnn_rng_init(&rng, p->seed, EVSNN_DVS_STREAM_MISMATCH);
  float c_low = fminf(p->c_on, p->c_off);
  for (size_t i = 0; i < n; i++) {
    float on = p->c_on, off = p->c_off;
    if (p->mismatch > 0) {
      on = fmaxf(p->c_min, (float)(p->c_on + p->mismatch * normal(&rng)));
      off = fmaxf(p->c_min, (float)(p->c_off + p->mismatch * normal(&rng)));
    }
    s->thr_on[i] = on, s->thr_off[i] = off;
    c_low = fminf(c_low, fminf(on, off));
  }
  /* A frame moves a pixel's L by at most ln((1 + eps) / eps), so without
   * noise it cannot make more than range / C + 2 events per pixel. */
  double range = log((1.0 + p->eps) / p->eps);
  double per_pixel = ceil(range / c_low) + 2;
  s->buf_cap = (size_t)fmin(per_pixel * (double)n + 256, 1 << 24);
  if (!(s->buf = malloc(s->buf_cap * sizeof(evsnn_event_t)))) {
    evsnn_dvs_free(s);
    return evsnn__fail(EVSNN_ENOMEM, "dvs: event buffer of %zu", s->buf_cap);
  }
  s->noise_cap = 64;
  if (!(s->noise = malloc(s->noise_cap * sizeof *s->noise))) {
    evsnn_dvs_free(s);
    return evsnn__fail(EVSNN_ENOMEM, "dvs: noise list");
  }
  evsnn_dvs_reset(s, 0);
  return 0;
}

void evsnn_dvs_reset(evsnn_dvs_t *s, uint64_t stream) {
  s->started = 0;
  s->t_prev = 0;
  evsnn_rng_init(&s->rng, s->p.seed, stream);
}

/* The sensor-wide noise process: all pixels together fire at
 * noise_hz * pixels per second; an exponential gap to the next one. */
static double noise_gap(evsnn_rng_t *rng, double rate_per_us) { return -log(uniform_open0(rng)) / rate_per_us; }

static int cmp_event(const void *a, const void *b) {
  const evsnn_event_t *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  if (x->y != y->y) return x->y < y->y ? -1 : 1;
  if (x->x != y->x) return x->x < y->x ? -1 : 1;
  return (int)x->p - (int)y->p;
}

static int cmp_noise(const void *a, const void *b) {
  const evsnn_dvs_noise_t *x = a, *y = b;
  if (x->i != y->i) return x->i < y->i ? -1 : 1;
  return (x->t > y->t) - (x->t < y->t);
}

static evsnn_event_t make_event(double t, uint32_t i, uint32_t width, int p) {
  evsnn_event_t e = {0};
  e.t = (int64_t)floor(t + 0.5);
  e.x = (uint16_t)(i % width), e.y = (uint16_t)(i / width);
  e.p = (uint8_t)p;
  return e;
}

int evsnn_dvs_feed(evsnn_dvs_t *s, const float *frame, double t1, evsnn_event_t *out, size_t cap, size_t *n_out) {
  const evsnn_dvs_params_t *p = &s->p;
  double rate = p->noise_hz * s->n * 1e-6; /* noise events per us, whole sensor */
  float log_eps = logf(p->eps);
  *n_out = 0;
  if (!s->started) {
    for (uint32_t i = 0; i < s->n; i++) {
      s->ref[i] = s->lprev[i] = log_intensity(frame[i], p->eps, log_eps);
      s->t_last[i] = -INFINITY;
    }
    s->started = 1;
    s->t_prev = t1;
    s->next_noise = rate > 0 ? t1 + noise_gap(&s->rng, rate) : INFINITY;
    return 0;
  }
  if (!(t1 > s->t_prev))
    return evsnn__fail(EVSNN_EINVAL, "dvs: frame at %.3f us does not follow the previous one at %.3f us", t1,
                       s->t_prev);
  double t0 = s->t_prev, dt = t1 - t0, refr = p->refractory_us;
  /* This frame's background events, drawn first and sorted by pixel, so
   * that each pixel meets its own in time order. */
  evsnn_rng_t rng = s->rng;
  double next = s->next_noise;
  size_t n_noise = 0;
  for (; next <= t1; next += noise_gap(&rng, rate)) {
    if (n_noise == s->noise_cap) {
      evsnn_dvs_noise_t *nb = realloc(s->noise, 2 * s->noise_cap * sizeof *nb);
      if (!nb) return evsnn__fail(EVSNN_ENOMEM, "dvs: %zu noise events in a frame", 2 * s->noise_cap);
      s->noise = nb, s->noise_cap *= 2;
    }
    evsnn_dvs_noise_t *z = &s->noise[n_noise++];
    z->t = next;
    z->i = evsnn_rng_below(&rng, s->n);
    z->p = (uint32_t)(evsnn_rng_next(&rng) >> 63);
  }
  if (n_noise > 1) qsort(s->noise, n_noise, sizeof *s->noise, cmp_noise);
  size_t k = 0, n_undo = 0, nz = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    double L0 = s->lprev[i], L1 = log_intensity(frame[i], p->eps, log_eps);
    double ref = s->ref[i], tl = s->t_last[i], cur = t0;
    double slope = (L1 - L0) / dt, c_on = s->thr_on[i], c_off = s->thr_off[i];
    int has_noise = nz < n_noise && s->noise[nz].i == i;
    /* Unchanged, no change left over from a refractory period, no noise. */
    if (L1 == L0 && L1 - ref < c_on && ref - L1 < c_off && !has_noise) continue;
    s->undo_i[n_undo] = i, s->undo_ref[n_undo] = s->ref[i], s->undo_l[n_undo] = s->lprev[i];
    s->undo_t[n_undo++] = tl;
    for (;;) {
      /* The pixel is armed again at ta; a change that built up while it
       * was blind fires at once and the reference becomes L(ta). */
      double ta = fmax(cur, tl + refr), te = INFINITY, level = 0;
      int pol = 0;
      while (nz < n_noise && s->noise[nz].i == i && s->noise[nz].t < ta) nz++; /* lost: the pixel is blind */
      if (ta <= t1) {
        double La = L0 + slope * (ta - t0);
        if (La - ref >= c_on) te = ta, level = La, pol = 1;
        else if (ref - La >= c_off) te = ta, level = La, pol = 0;
        else if (slope > 0) level = ref + c_on, te = ta + (level - La) / slope, pol = 1;
        else if (slope < 0) level = ref - c_off, te = ta + (level - La) / slope, pol = 0;
        if (te > t1) te = INFINITY;
      }
      if (nz < n_noise && s->noise[nz].i == i && s->noise[nz].t <= te) {
        /* A spurious reset: the reference jumps to the present L. */
        te = s->noise[nz].t, pol = (int)s->noise[nz++].p, level = L0 + slope * (te - t0);
      } else if (te == INFINITY) {
        break;
      }
      if (k < cap) out[k] = make_event(te, i, p->width, pol);
      k++;
      ref = level, tl = te, cur = te;
    }
    while (nz < n_noise && s->noise[nz].i == i) nz++;
    s->ref[i] = (float)ref;
    s->lprev[i] = (float)L1;
    s->t_last[i] = tl;
  }
  if (k > cap) {
    for (size_t u = 0; u < n_undo; u++) {
      uint32_t i = s->undo_i[u];
      s->ref[i] = s->undo_ref[u], s->lprev[i] = s->undo_l[u], s->t_last[i] = s->undo_t[u];
    }
    return evsnn__fail(EVSNN_ERANGE, "dvs: frame at %.3f us makes %zu events, room for %zu", t1, k, cap);
  }
  s->rng = rng;
  s->next_noise = next;
  s->t_prev = t1;
  qsort(out, k, sizeof *out, cmp_event);
  *n_out = k;
  return 0;
}

/* ------------------------------------------------------------ saccades --- */

int evsnn_saccades_nmnist(evsnn_saccades_t *sac, uint32_t width, uint32_t height, uint32_t cols, uint32_t rows,
                          double seg_us) {
  memset(sac, 0, sizeof *sac);
  if (cols > width || rows > height)
    return evsnn__fail(EVSNN_EINVAL, "saccades: a %ux%u image does not fit a %ux%u sensor", cols, rows, width,
                       height);
  if (!(seg_us > 0)) return evsnn__fail(EVSNN_EINVAL, "saccades: duration %g us", seg_us);
  float sx = (float)(width - cols), sy = (float)(height - rows);
  const float x[] = {sx / 2, sx, 0, sx / 2}, y[] = {0, sy, sy, 0};
  sac->n_seg = 3;
  memcpy(sac->x, x, sizeof x);
  memcpy(sac->y, y, sizeof y);
  sac->seg_us = seg_us;
  return 0;
}

double evsnn_saccades_span(const evsnn_saccades_t *sac) { return sac->n_seg * sac->seg_us; }

void evsnn_saccades_at(const evsnn_saccades_t *sac, double t, float *x, float *y) {
  double span = evsnn_saccades_span(sac);
  t = t < 0 ? 0 : t > span ? span : t;
  uint32_t k = (uint32_t)(t / sac->seg_us);
  if (k >= sac->n_seg) k = sac->n_seg - 1;
  float f = (float)((t - k * sac->seg_us) / sac->seg_us);
  *x = sac->x[k] + f * (sac->x[k + 1] - sac->x[k]);
  *y = sac->y[k] + f * (sac->y[k + 1] - sac->y[k]);
}

static float pixel_or_black(const uint8_t *img, uint32_t cols, uint32_t rows, int64_t c, int64_t r) {
  if (c < 0 || r < 0 || c >= cols || r >= rows) return 0.0f;
  return img[r * cols + c] * (1.0f / 255.0f);
}

void evsnn_dvs_render(float *frame, uint32_t width, uint32_t height, const uint8_t *img, uint32_t cols,
                      uint32_t rows, float ox, float oy) {
  float fx = floorf(ox), fy = floorf(oy), ax = ox - fx, ay = oy - fy;
  int64_t ix = (int64_t)fx, iy = (int64_t)fy;
  /* Sensor pixel (X, Y) sees the image at (X - ox, Y - oy): between image
   * columns X - ix - 1 and X - ix with weights ax and 1 - ax. Only
   * X in [ix, ix + cols], Y in [iy, iy + rows] can see any of it. */
  memset(frame, 0, sizeof(float) * width * height);
  int64_t x0 = ix < 0 ? 0 : ix, x1 = ix + (int64_t)cols, y0 = iy < 0 ? 0 : iy, y1 = iy + (int64_t)rows;
  if (x1 >= width) x1 = (int64_t)width - 1;
  if (y1 >= height) y1 = (int64_t)height - 1;
  for (int64_t Y = y0; Y <= y1; Y++) {
    int64_t r = Y - iy;
    for (int64_t X = x0; X <= x1; X++) {
      int64_t c = X - ix;
      float v00 = pixel_or_black(img, cols, rows, c - 1, r - 1), v01 = pixel_or_black(img, cols, rows, c, r - 1);
      float v10 = pixel_or_black(img, cols, rows, c - 1, r), v11 = pixel_or_black(img, cols, rows, c, r);
      frame[(size_t)Y * width + (size_t)X] =
          ay * (ax * v00 + (1 - ax) * v01) + (1 - ay) * (ax * v10 + (1 - ax) * v11);
    }
  }
}

int evsnn_dvs_encode_image(evsnn_dvs_t *s, const uint8_t *img, uint32_t cols, uint32_t rows,
                           const evsnn_saccades_t *sac, double frame_us, uint64_t stream, float *frame,
                           evsnn_dvs_sink_cb sink, void *arg) {
  if (!(frame_us > 0)) return evsnn__fail(EVSNN_EINVAL, "dvs: frame interval %g us", frame_us);
  evsnn_dvs_reset(s, stream);
  double span = evsnn_saccades_span(sac);
  for (uint64_t k = 0;; k++) {
    double t = fmin((double)k * frame_us, span);
    float ox, oy;
    evsnn_saccades_at(sac, t, &ox, &oy);
    evsnn_dvs_render(frame, s->p.width, s->p.height, img, cols, rows, ox, oy);
    size_t n;
    int err;
    while ((err = evsnn_dvs_feed(s, frame, t, s->buf, s->buf_cap, &n)) == EVSNN_ERANGE) {
      /* Only noise can outgrow the bound init sized the buffer for. */
      evsnn_event_t *b = realloc(s->buf, 2 * s->buf_cap * sizeof *b);
      if (!b) return evsnn__fail(EVSNN_ENOMEM, "dvs: event buffer of %zu", 2 * s->buf_cap);
      s->buf = b, s->buf_cap *= 2;
    }
    if (err) return err;
    if (n && (err = sink(arg, s->buf, n))) return err;
    if (t >= span) return 0;
  }
}
