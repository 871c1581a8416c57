/* The sensor-to-input map options shared by replay and stats: --crop,
 * --pool and --polarity, or, when none is given, the map the model
 * recorded (a recording of another sensor size is refused) or else the
 * one that fits the recording's sensor onto the network
 * (evsnn_sensor_map_for). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/internal.h"
#include "evsnn/sensor.h"

void cli_map_init(cli_map_t *m) { *m = (cli_map_t){0, 0, 0, 0, 1, -1, 0}; }

int cli_map_option(cli_map_t *m, const char *opt, const char *val) {
  if (!strcmp(opt, "--crop")) {
    char end;
    if (sscanf(val, "%ld,%ld,%ld,%ld%c", &m->x0, &m->y0, &m->w, &m->h, &end) != 4 || m->x0 < 0 || m->y0 < 0 ||
        m->w < 1 || m->h < 1 || m->x0 > 65535 || m->y0 > 65535 || m->w > 65536 || m->h > 65536)
      return cli_usage("--crop wants x0,y0,w,h (w, h >= 1), got '%s'", val), -1;
  } else if (!strcmp(opt, "--pool")) {
    if (!cli_parse_long(opt, val, 1, 256, &m->pool)) return -1;
  } else if (!strcmp(opt, "--polarity")) {
    static const char *names[] = {"both", "merge", "on", "off"};
    m->polarity = -1;
    for (int i = 0; i < 4; i++)
      if (!strcmp(val, names[i])) m->polarity = i;
    if (m->polarity < 0) return cli_usage("--polarity wants both, merge, on or off, got '%s'", val), -1;
  } else {
    return 0;
  }
  m->given = 1;
  return 1;
}

int cli_map_make(const cli_map_t *m, uint32_t width, uint32_t height, const evsnn_sensor_map_t *built,
                 uint32_t n_inputs, evsnn_sensor_map_t *out) {
  if (!m->given && built && built->width) {
    int err = evsnn_sensor_map_for(out, built, width, height, n_inputs);
    if (err) { /* the library's detail, with what the user can do about it */
      char why[256];
      snprintf(why, sizeof why, "%s", evsnn_error_detail());
      return evsnn__fail(err, "%s (give --crop/--pool/--polarity to map it anyway)", why);
    }
    return 0;
  }
  if ((width == 0 || height == 0) && !(m->given && m->w > 0))
    return evsnn__fail(EVSNN_EINVAL, "the file does not say its sensor size; give the input window with --crop x0,y0,w,h");
  if (!m->given) return evsnn_sensor_map_fit(out, width, height, n_inputs);
  /* A file that does not say its sensor size (N-MNIST .bin, text) can
   * still be read through an explicit window; events outside it are dropped. */
  if ((width == 0 || height == 0) && m->w > 0) width = (uint32_t)(m->x0 + m->w), height = (uint32_t)(m->y0 + m->h);
  int err = evsnn_sensor_map_init(out, width, height, (uint32_t)m->x0, (uint32_t)m->y0, (uint32_t)m->w, (uint32_t)m->h,
                                  (uint32_t)m->pool, m->polarity < 0 ? EVSNN_POL_BOTH : (evsnn_polarity_t)m->polarity);
  if (!err && out->n_inputs != n_inputs)
    err = evsnn__fail(EVSNN_EINVAL, "--crop/--pool/--polarity give %u inputs (%u channel(s) of %ux%u), the network takes %u",
                      out->n_inputs, out->channels, out->out_w, out->out_h, n_inputs);
  return err;
}
