/* evsnn/dvs.h: a dynamic vision sensor (DVS) emulator.
 *
 * Frames of linear intensity go in, DVS events come out, the way a real
 * sensor makes them (docs/dvs-emulator.md has the equations):
 *   - each pixel keeps a reference log intensity, set at its last event;
 *   - between two frames the log intensity L = ln(I + eps) is taken to move
 *     linearly in time, and every crossing of ref + C_on (ON) or
 *     ref - C_off (OFF) is an event at the interpolated time; the
 *     reference then moves to the level crossed;
 *   - after an event a pixel is blind for the refractory period; a change
 *     that built up meanwhile fires one event when it re-arms, and the
 *     reference is reset to the log intensity of that moment;
 *   - optional per-pixel threshold mismatch (fixed for a sensor, like a
 *     real chip's fixed-pattern noise) and background-activity events
 *     (a Poisson process per pixel, random polarity); a background event is
 *     a spurious reset: it moves the reference to the present log intensity
 *     and starts a refractory period, and is lost if the pixel is blind.
 * All randomness is seeded: the mismatch from (seed, EVSNN_DVS_STREAM_MISMATCH),
 * the noise of a recording from (seed, the stream given to reset).
 *
 * For still images a saccade path moves the image over the sensor, as
 * N-MNIST was recorded (Orchard et al. 2015): three straight saccades of
 * 100 ms forming a triangle, a 28 x 28 digit sweeping a 34 x 34 sensor.
 *
 * The caller owns evsnn_dvs_t; init allocates its per-pixel arrays once,
 * free releases them (and accepts a zeroed struct). Nothing is allocated
 * per frame or per event, except that the noise list and
 * evsnn_dvs_encode_image's event buffer double on the rare frame that
 * outgrows them.
 */
#ifndef EVSNN_DVS_H
#define EVSNN_DVS_H

#include <stddef.h>
#include <stdint.h>

#include "evsnn/events.h"
#include "evsnn/rng.h"

#define EVSNN_DVS_STREAM_MISMATCH UINT64_C(0xd75000000000000)

typedef struct evsnn_dvs_params_s {
  uint32_t width, height; /* sensor; default 34 x 34, as N-MNIST */
  float c_on, c_off;      /* contrast thresholds in ln units; default 0.25 each */
  float mismatch;         /* std-dev of each pixel's thresholds around c_on / c_off, ln units; default 0 */
  float c_min;            /* thresholds drawn below this are clipped to it; default 0.01 */
  float eps;              /* L = ln(I + eps) for I in [0, 1]; default 0.1 */
  double refractory_us;   /* default 0 */
  double noise_hz;        /* background events per pixel per second; default 0 */
  uint64_t seed;          /* default 1 */
} evsnn_dvs_params_t;

/* Private: a background event drawn for the frame being fed. */
typedef struct evsnn_dvs_noise_s {
  double t;
  uint32_t i, p;
} evsnn_dvs_noise_t;

typedef struct evsnn_dvs_s {
  evsnn_dvs_params_t p;
  uint32_t n;              /* pixels */
  float *thr_on, *thr_off; /* each pixel's thresholds (mismatch applied) */
  float *ref, *lprev;      /* reference and last frame's log intensity */
  double *t_last;          /* last event time per pixel, us; -inf before any */
  uint32_t *undo_i;        /* an undo log of the pixels a feed changed, so a */
  float *undo_ref, *undo_l; /* failed feed can be rolled back */
  double *undo_t;
  double t_prev;           /* last frame's time; started == 0 before the first frame */
  int started;
  double next_noise;       /* the sensor-wide noise process's next event time */
  evsnn_dvs_noise_t *noise; /* a frame's noise events, by (pixel, time); grown when a frame needs more */
  size_t noise_cap;
  evsnn_rng_t rng;         /* this recording's noise */
  evsnn_event_t *buf;      /* evsnn_dvs_encode_image's frame buffer */
  size_t buf_cap;
} evsnn_dvs_t;

/* The defaults listed above. */
void evsnn_dvs_params_default(evsnn_dvs_params_t *p);

/* EVSNN_EINVAL (naming the parameter) for a zero-sized sensor, a side over
 * 65536 or more than 2^26 pixels, non-positive thresholds or eps, negative
 * refractory, noise or mismatch; EVSNN_ENOMEM. On failure *s is zeroed.
 * The sensor starts reset with stream 0. */
int evsnn_dvs_init(evsnn_dvs_t *s, const evsnn_dvs_params_t *p);
void evsnn_dvs_free(evsnn_dvs_t *s);

/* Starts a new recording: the next frame only sets the references (no
 * events, as when a sensor is switched on), and the noise comes from
 * stream (seed, stream). The mismatch stays: it is the same sensor. */
void evsnn_dvs_reset(evsnn_dvs_t *s, uint64_t stream);

/* Feeds the frame seen at time t_us (width * height intensities, row-major,
 * clamped to [0, 1]); t_us must exceed the previous frame's time
 * (EVSNN_EINVAL otherwise). Writes the events of (t_prev, t_us] to out,
 * sorted by (t, y, x, p), and their number to *n. EVSNN_ERANGE if more than
 * cap: then nothing changed, and the call may be repeated with more room.
 * EVSNN_ENOMEM if the frame's noise outgrows memory (nothing changed). */
int evsnn_dvs_feed(evsnn_dvs_t *s, const float *frame, double t_us, evsnn_event_t *out, size_t cap, size_t *n);

/* ------------------------------------------------------------ saccades --- */

/* A closed path of straight segments for the image's top-left corner on
 * the sensor, in pixels, each segment taking seg_us at constant speed. */
typedef struct evsnn_saccades_s {
  uint32_t n_seg;          /* segments; the path has n_seg + 1 vertices */
  float x[8], y[8];        /* vertices */
  double seg_us;
} evsnn_saccades_t;

/* N-MNIST's three saccades for an image of cols x rows on a sensor of
 * width x height: with the slack sx = width - cols, sy = height - rows,
 * the corner goes (sx/2, 0) -> (sx, sy) -> (0, sy) -> (sx/2, 0): down-right,
 * left, up-right, an isosceles triangle that sweeps the whole sensor.
 * EVSNN_EINVAL if the image is larger than the sensor. */
int evsnn_saccades_nmnist(evsnn_saccades_t *sac, uint32_t width, uint32_t height, uint32_t cols, uint32_t rows,
                          double seg_us);
/* The corner at time t (clamped to the path's span). */
void evsnn_saccades_at(const evsnn_saccades_t *sac, double t_us, float *x, float *y);
/* The path's total duration. */
double evsnn_saccades_span(const evsnn_saccades_t *sac);

/* Renders what the sensor sees with an 8-bit image's top-left corner at
 * (ox, oy): bilinear interpolation for sub-pixel positions, black (0)
 * around the image. frame gets width * height intensities in [0, 1]. */
void evsnn_dvs_render(float *frame, uint32_t width, uint32_t height, const uint8_t *img, uint32_t cols,
                      uint32_t rows, float ox, float oy);

/* One recording of a still image moved along sac: resets the sensor with
 * stream `stream`, feeds a frame every frame_us from 0 to the path's end
 * (the last frame exactly at the end), and hands each frame's events, in
 * timestamp order, to sink (which returns 0 or an error code that stops
 * the recording and is returned). frame is caller scratch of width * height
 * floats. The events of a recording depend only on the parameters, the
 * image, the path, frame_us and stream. */
typedef int (*evsnn_dvs_sink_cb)(void *arg, const evsnn_event_t *ev, size_t n);
int evsnn_dvs_encode_image(evsnn_dvs_t *s, const uint8_t *img, uint32_t cols, uint32_t rows,
                           const evsnn_saccades_t *sac, double frame_us, uint64_t stream, float *frame,
                           evsnn_dvs_sink_cb sink, void *arg);

#endif
