/* Sensor events as network input: the pixel-to-input map (crop, pooling,
 * polarity channels) and the binning of a recording into T steps of input
 * spike lists, the discrete path that lets the trainer and the discrete
 * engine consume event data (evsnn/sensor.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "evsnn/sensor.h"

int evsnn_sensor_map_init(evsnn_sensor_map_t *map, uint32_t width, uint32_t height, uint32_t x0, uint32_t y0,
                          uint32_t crop_w, uint32_t crop_h, uint32_t pool, evsnn_polarity_t polarity) {
  if (crop_w == 0 || crop_h == 0) x0 = y0 = 0, crop_w = width, crop_h = height;
  if (width == 0 || height == 0 || pool == 0 || (uint64_t)x0 + crop_w > width || (uint64_t)y0 + crop_h > height ||
      crop_w / pool == 0 || crop_h / pool == 0 || (unsigned)polarity > EVSNN_POL_OFF)
    return evsnn__fail(EVSNN_EINVAL, "sensor %ux%u: window %ux%u at (%u,%u) pooled by %u does not fit", width, height,
                       crop_w, crop_h, x0, y0, pool);
  uint32_t channels = polarity == EVSNN_POL_BOTH ? 2 : 1;
  uint64_t n = (uint64_t)channels * (crop_w / pool) * (crop_h / pool);
  if (n > 0xffffffffu) return evsnn__fail(EVSNN_EINVAL, "sensor %ux%u: %llu inputs", width, height, (unsigned long long)n);
  *map = (evsnn_sensor_map_t){width, height, x0, y0, crop_w, crop_h, pool, polarity,
                              crop_w / pool, crop_h / pool, channels, (uint32_t)n};
  return 0;
}

int evsnn_sensor_map_fit(evsnn_sensor_map_t *map, uint32_t width, uint32_t height, uint32_t n_inputs) {
  uint64_t wh = (uint64_t)width * height;
  if (wh == 0) return evsnn__fail(EVSNN_EINVAL, "sensor size unknown (%ux%u): cannot map it onto %u inputs", width,
                                  height, n_inputs);
  if (2 * wh == n_inputs) return evsnn_sensor_map_init(map, width, height, 0, 0, 0, 0, 1, EVSNN_POL_BOTH);
  if (wh == n_inputs) return evsnn_sensor_map_init(map, width, height, 0, 0, 0, 0, 1, EVSNN_POL_MERGE);
  for (uint32_t k = 2; k <= 8; k++) {
    uint64_t p = (uint64_t)(width / k) * (height / k);
    if (p && 2 * p == n_inputs) return evsnn_sensor_map_init(map, width, height, 0, 0, 0, 0, k, EVSNN_POL_BOTH);
    if (p && p == n_inputs) return evsnn_sensor_map_init(map, width, height, 0, 0, 0, 0, k, EVSNN_POL_MERGE);
  }
  for (int merged = 0; merged < 2; merged++) {
    uint32_t s = (uint32_t)llround(sqrt(merged ? n_inputs : n_inputs / 2.0));
    if ((uint64_t)s * s * (merged ? 1 : 2) == n_inputs && s && s <= width && s <= height)
      return evsnn_sensor_map_init(map, width, height, (width - s) / 2, (height - s) / 2, s, s, 1,
                                   merged ? EVSNN_POL_MERGE : EVSNN_POL_BOTH);
  }
  return evsnn__fail(EVSNN_EINVAL,
                     "a %ux%u sensor (%llu two-polarity inputs) does not map onto %u network inputs "
                     "(tried both/merged polarities, pooling 2..8, a centred square crop)",
                     width, height, (unsigned long long)(2 * wh), n_inputs);
}

int evsnn_sensor_map_for(evsnn_sensor_map_t *map, const evsnn_sensor_map_t *built, uint32_t width, uint32_t height,
                         uint32_t n_inputs) {
  if (!built || built->width == 0) return evsnn_sensor_map_fit(map, width, height, n_inputs);
  char desc[128];
  evsnn_sensor_map_describe(built, desc, sizeof desc);
  if (built->n_inputs != n_inputs)
    return evsnn__fail(EVSNN_EINVAL, "the network was built for a %s (%u inputs) but takes %u inputs", desc,
                       built->n_inputs, n_inputs);
  if ((width || height) && (width != built->width || height != built->height))
    return evsnn__fail(EVSNN_EINVAL, "a %ux%u recording, the network was built for a %s", width, height, desc);
  *map = *built;
  return 0;
}

size_t evsnn_sensor_map_describe(const evsnn_sensor_map_t *map, char *buf, size_t size) {
  static const char *pol[] = {"both polarities", "polarities merged", "ON events only", "OFF events only"};
  int n = snprintf(buf, size, "%ux%u sensor, %s", map->width, map->height, pol[map->polarity & 3]);
  if (map->crop_w != map->width || map->crop_h != map->height)
    n += snprintf(buf + ((size_t)n < size ? (size_t)n : size), (size_t)n < size ? size - (size_t)n : 0,
                  ", window %ux%u at (%u,%u)", map->crop_w, map->crop_h, map->x0, map->y0);
  if (map->pool > 1)
    n += snprintf(buf + ((size_t)n < size ? (size_t)n : size), (size_t)n < size ? size - (size_t)n : 0, ", pooled %u",
                  map->pool);
  return (size_t)n;
}

/* ------------------------------------------------------------ binning ---- */

int evsnn_binned_init(evsnn_binned_t *b, uint32_t n_inputs, uint32_t T, size_t cap, evsnn_bin_mode_t mode) {
  memset(b, 0, sizeof *b);
  if (T == 0 || n_inputs == 0) return evsnn__fail(EVSNN_EINVAL, "binning: %u steps of %u inputs", T, n_inputs);
  if (cap == 0) cap = (size_t)T * n_inputs;
  b->idx = malloc(sizeof(uint32_t) * cap);
  b->start = malloc(sizeof(uint32_t) * ((size_t)T + 1));
  b->stamp_ = calloc(n_inputs, sizeof(uint32_t));
  if (!b->idx || !b->start || !b->stamp_ || cap > 0xffffffffu) {
    evsnn_binned_free(b);
    return evsnn__fail(EVSNN_ENOMEM, "binning: %zu indices", cap);
  }
  b->T = T, b->n_inputs = n_inputs, b->cap = cap, b->mode = mode;
  evsnn_binned_begin(b, 0, 1000);
  return 0;
}

void evsnn_binned_free(evsnn_binned_t *b) {
  free(b->idx);
  free(b->start);
  free(b->stamp_);
  memset(b, 0, sizeof *b);
}

void evsnn_binned_begin(evsnn_binned_t *b, int64_t t0, double dt_us) {
  b->t0 = t0, b->dt_us = dt_us;
  b->k_ = 0;
  b->start[0] = b->start[1] = 0;
  b->last_t_ = INT64_MIN;
  b->events_in = b->events_used = 0;
  memset(b->stamp_, 0, sizeof(uint32_t) * b->n_inputs);
}

/* Moves the open step to k > k_: the steps in between are empty. */
static void open_step(evsnn_binned_t *b, uint32_t k) {
  uint32_t fill = b->start[b->k_ + 1];
  while (b->k_ < k) b->start[++b->k_ + 1] = fill;
}

int evsnn_binned_add(evsnn_binned_t *b, const evsnn_sensor_map_t *map, const evsnn_event_t *ev, size_t n) {
  for (size_t i = 0; i < n; i++, b->events_in++) {
    const evsnn_event_t *e = &ev[i];
    if (e->t < b->last_t_)
      return evsnn__fail(EVSNN_EORDER, "binning: event %llu at t=%lld us after t=%lld us",
                         (unsigned long long)b->events_in, (long long)e->t, (long long)b->last_t_);
    b->last_t_ = e->t;
    if (e->t < b->t0) continue;
    double kd = floor((double)(e->t - b->t0) / b->dt_us);
    if (kd >= b->T) continue;
    uint32_t k = (uint32_t)kd;
    int64_t j = evsnn_sensor_map_index(map, e);
    if (j < 0 || j >= b->n_inputs) continue;
    if (k > b->k_) open_step(b, k);
    b->events_used++;
    if (b->mode == EVSNN_BIN_BINARY) {
      if (b->stamp_[j] == k + 1) continue;
      b->stamp_[j] = k + 1;
    }
    if (b->start[k + 1] == b->cap)
      return evsnn__fail(EVSNN_ERANGE, "binning: more than %zu input spikes in %u steps (count mode); "
                                       "use binary mode or a larger cap", b->cap, b->T);
    b->idx[b->start[k + 1]++] = (uint32_t)j;
  }
  return 0;
}

void evsnn_binned_end(evsnn_binned_t *b) {
  if (b->k_ + 1 < b->T) open_step(b, b->T - 1);
}

int evsnn_binned_read_file(evsnn_binned_t *b, const char *path, evsnn_sensor_map_t *map, double dt_us,
                           int32_t *label) {
  enum { CHUNK = 4096 };
  evsnn_event_t *ev = malloc(sizeof *ev * CHUNK);
  if (!ev) return evsnn__fail(EVSNN_ENOMEM, "%s: event buffer", path);
  evsnn_event_reader_t *r = NULL;
  evsnn_sensor_map_t fitted;
  int64_t t_first = 0, t_last = 0;
  size_t n;
  int err = evsnn_event_reader_open(&r, path, NULL);
  if (err) goto out;
  const evsnn_event_info_t *info = evsnn_event_reader_info(r);
  if (label) *label = info->label;
  if ((err = evsnn_sensor_map_for(&fitted, map, info->width, info->height, b->n_inputs))) {
    char why[256];
    snprintf(why, sizeof why, "%s", evsnn_error_detail());
    err = evsnn__fail(err, "%s: %s", path, why);
    goto out;
  }
  if (map && map->width == 0) *map = fitted;
  /* The span needs a first pass when the step is not given. */
  uint64_t count = 0;
  while (!(err = evsnn_event_read(r, ev, CHUNK, &n)) && n) {
    if (!count) t_first = ev[0].t;
    t_last = ev[n - 1].t;
    count += n;
  }
  if (err) goto out;
  evsnn_event_reader_close(r);
  r = NULL;
  if (dt_us <= 0) dt_us = count ? (double)(t_last - t_first + 1) / b->T : 1;
  evsnn_binned_begin(b, t_first, dt_us);
  if ((err = evsnn_event_reader_open(&r, path, NULL))) goto out;
  while (!(err = evsnn_event_read(r, ev, CHUNK, &n)) && n)
    if ((err = evsnn_binned_add(b, &fitted, ev, n))) break;
  evsnn_binned_end(b);
out:
  evsnn_event_reader_close(r);
  free(ev);
  return err;
}
