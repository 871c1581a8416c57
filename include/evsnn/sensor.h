/* evsnn/sensor.h: sensor events as network input.
 *
 * A DVS sensor of W x H pixels gives 2 x W x H input channels, one per
 * polarity. A map (evsnn_sensor_map_t) turns an event (x, y, p) into the
 * index of an input neuron, after an optional crop window and k x k
 * pooling (a block of k x k pixels is one input), keeping both
 * polarities as two channels, merging them into one, or keeping only one:
 *   index = c * out_w * out_h + ((y - y0) / k) * out_w + (x - x0) / k
 * where c is the polarity (0 OFF, 1 ON) with EVSNN_POL_BOTH and 0
 * otherwise. Events outside the window or of a dropped polarity map to -1.
 *
 * Two ways to feed a network from there:
 *   continuous time: evsnn_ctime_push(ct, ev.t, index) for each event
 *     (evsnn/ctime.h), one state per stream;
 *   discrete time: evsnn_binned_t bins a recording into T steps of dt
 *     (the count of events per input and step, or whether there was one),
 *     giving the per-step input spike lists the discrete engine and the
 *     trainer consume.
 * Both are plain data transforms: no threads, no globals, nothing
 * allocated per event.
 */
#ifndef EVSNN_SENSOR_H
#define EVSNN_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/events.h"

typedef enum {
  EVSNN_POL_BOTH = 0,  /* two channels: c = p */
  EVSNN_POL_MERGE = 1, /* one channel, both polarities */
  EVSNN_POL_ON = 2,    /* one channel, ON events only */
  EVSNN_POL_OFF = 3,   /* one channel, OFF events only */
} evsnn_polarity_t;

typedef struct evsnn_sensor_map_s {
  uint32_t width, height;           /* the sensor */
  uint32_t x0, y0, crop_w, crop_h;  /* the window kept */
  uint32_t pool;                    /* k >= 1; a partial block at the window's edge is dropped */
  evsnn_polarity_t polarity;
  uint32_t out_w, out_h, channels;  /* derived: crop / pool, 1 or 2 */
  uint32_t n_inputs;                /* derived: channels * out_w * out_h */
} evsnn_sensor_map_t;

/* A map with an explicit window and pooling; crop_w or crop_h 0 means the
 * whole sensor. EVSNN_EINVAL if the window leaves the sensor or pools to
 * nothing. */
int evsnn_sensor_map_init(evsnn_sensor_map_t *map, uint32_t width, uint32_t height, uint32_t x0, uint32_t y0,
                          uint32_t crop_w, uint32_t crop_h, uint32_t pool, evsnn_polarity_t polarity);
/* Picks a map of a W x H sensor onto n_inputs, the first that fits of:
 * 2WH (both polarities), WH (merged); k x k pooling (k = 2..8, both, then
 * merged); a centred square crop of side s with 2 s^2 = n_inputs (both) or
 * s^2 = n_inputs (merged): so a 34 x 34 DVS-MNIST recording feeds a 784-input
 * MNIST network through its centred 28 x 28 window, polarities merged.
 * EVSNN_EINVAL, naming the sizes, when none fits. */
int evsnn_sensor_map_fit(evsnn_sensor_map_t *map, uint32_t width, uint32_t height, uint32_t n_inputs);

/* The map for a width x height recording when the network was built for
 * the map `built` (a model records it: evsnn_net_t's sensor): `built`
 * itself when the recording has its sensor size, or does not say its size
 * (0 x 0); the fitted map (evsnn_sensor_map_fit) when nothing is recorded
 * (built NULL or its width 0). A recording of another size is EVSNN_EINVAL
 * naming both sizes: a network that learned one sensor's geometry would
 * silently see another's through a crop it never saw. */
int evsnn_sensor_map_for(evsnn_sensor_map_t *map, const evsnn_sensor_map_t *built, uint32_t width, uint32_t height,
                         uint32_t n_inputs);
/* Writes "34x34 sensor, both polarities" (with ", window WxH at (x,y)" and
 * ", pooled k" when they apply) into buf; returns the length it needs. */
size_t evsnn_sensor_map_describe(const evsnn_sensor_map_t *map, char *buf, size_t size);

/* The input neuron of an event, or -1 when the map drops it. */
static inline int64_t evsnn_sensor_map_index(const evsnn_sensor_map_t *map, const evsnn_event_t *e) {
  if (e->x < map->x0 || e->y < map->y0) return -1;
  uint32_t x = (e->x - map->x0) / map->pool, y = (e->y - map->y0) / map->pool;
  if (x >= map->out_w || y >= map->out_h) return -1;
  uint32_t c = 0;
  if (map->polarity == EVSNN_POL_BOTH) c = e->p ? 1 : 0;
  else if ((map->polarity == EVSNN_POL_ON && !e->p) || (map->polarity == EVSNN_POL_OFF && e->p)) return -1;
  return (int64_t)c * map->out_w * map->out_h + (int64_t)y * map->out_w + x;
}

/* ------------------------------------------------------------ binning ---- */

typedef enum {
  EVSNN_BIN_COUNT = 0,  /* an input appears in a step's list once per event */
  EVSNN_BIN_BINARY = 1, /* at most once per step: a binary spike */
} evsnn_bin_mode_t;

/* Per-step input spike lists: step k's inputs are idx[start[k] .. start[k+1]),
 * in the order their events came (ascending time, then file order). */
typedef struct evsnn_binned_s {
  uint32_t T, n_inputs;
  evsnn_bin_mode_t mode;
  int64_t t0;        /* start of step 0, us */
  double dt_us;      /* step length */
  uint32_t *idx;     /* room for cap indices */
  uint32_t *start;   /* T + 1 offsets */
  size_t cap;
  uint64_t events_in, events_used; /* events offered; those that landed in a step (before dedup) */
  uint32_t *stamp_;  /* private: last step + 1 each input was listed in (binary mode) */
  uint32_t k_;       /* private: the step being filled; start[k_ + 1] is its fill level */
  int64_t last_t_;   /* private: the last event's time, for the order check */
} evsnn_binned_t;

/* Sizes the lists for n_inputs and T steps; cap 0 means T x n_inputs,
 * enough for binary mode; count mode may need more (see add). */
int evsnn_binned_init(evsnn_binned_t *b, uint32_t n_inputs, uint32_t T, size_t cap, evsnn_bin_mode_t mode);
void evsnn_binned_free(evsnn_binned_t *b);
/* Starts a recording: step k covers [t0 + k dt, t0 + (k + 1) dt). */
void evsnn_binned_begin(evsnn_binned_t *b, int64_t t0, double dt_us);
/* Bins n events (non-decreasing t; EVSNN_EORDER otherwise) through map;
 * events before t0, after step T-1 or dropped by the map are skipped.
 * EVSNN_ERANGE when the lists outgrow cap (count mode), the lists then
 * holding what fitted. */
int evsnn_binned_add(evsnn_binned_t *b, const evsnn_sensor_map_t *map, const evsnn_event_t *ev, size_t n);
/* Closes the remaining steps (empty ones included). */
void evsnn_binned_end(evsnn_binned_t *b);

/* Reads an event file whole and bins it into b's T steps: dt_us > 0 fixes
 * the step, 0 spreads the recording's span (first to last event) over T
 * steps. map NULL: fitted from the file's sensor size to b->n_inputs
 * (evsnn_sensor_map_fit). *label gets the file's label (-1 if none) when
 * label is non-NULL. map NULL: the fitted map; map with width 0: the
 * fitted map, stored in *map; otherwise *map, the sensor a network was
 * built for (evsnn_sensor_map_for). Errors of the reader, and EVSNN_EINVAL
 * if the file does not say its sensor size and no map is given, or says
 * another size than *map's. */
int evsnn_binned_read_file(evsnn_binned_t *b, const char *path, evsnn_sensor_map_t *map, double dt_us,
                           int32_t *label);

#endif
