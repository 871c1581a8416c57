/* A small program that uses only the public API: runs an event recording
 * through a saved model in continuous time, the way a server runs one
 * stream per connection: a sensor map onto the network's inputs, one
 * evsnn_ctime_t, events pushed as they come, a callback when the decision
 * changes. Usage: stream MODEL FILE */
#include <evsnn.h>
#include <stdio.h>

static void on_decision(void *ud, int64_t t, uint32_t cls) {
  (void)ud;
  printf("t=%lld us: decision %u\n", (long long)t, cls);
}

int main(int argc, char **argv) {
  if (argc != 3) return fprintf(stderr, "usage: stream MODEL FILE\n"), 2;
  evsnn_net_t net;
  evsnn_event_reader_t *r = NULL;
  evsnn_ctime_t *ct = NULL;
  evsnn_sensor_map_t map;
  evsnn_ctime_opts_t o = {.dt_us = 1000, .on_decision = on_decision};
  int err = evsnn_model_load(argv[1], &net, NULL, NULL);
  if (err) return fprintf(stderr, "stream: %s: %s: %s\n", argv[1], evsnn_strerror(err), evsnn_error_detail()), 1;
  if (!(err = evsnn_event_reader_open(&r, argv[2], NULL))) {
    const evsnn_event_info_t *info = evsnn_event_reader_info(r);
    if (!(err = evsnn_sensor_map_fit(&map, info->width, info->height, evsnn_net_inputs(&net))))
      err = evsnn_ctime_new(&ct, &net, &o);
  }
  evsnn_event_t ev[1024];
  size_t n;
  while (!err && !(err = evsnn_event_read(r, ev, 1024, &n)) && n)
    for (size_t i = 0; i < n && !err; i++) {
      int64_t j = evsnn_sensor_map_index(&map, &ev[i]);
      if (j >= 0) err = evsnn_ctime_push(ct, ev[i].t, (uint32_t)j);
    }
  if (!err) err = evsnn_ctime_flush(ct);
  if (err) fprintf(stderr, "stream: %s: %s: %s\n", argv[2], evsnn_strerror(err), evsnn_error_detail());
  else printf("final decision %d, %llu input events\n", evsnn_ctime_decision(ct),
              (unsigned long long)evsnn_ctime_input_events(ct));
  evsnn_ctime_free(ct);
  evsnn_event_reader_close(r);
  evsnn_net_free(&net);
  return err ? 1 : 0;
}
