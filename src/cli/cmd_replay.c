/* evsnn replay: runs a recording through a saved network in continuous
 * time (evsnn/ctime.h), on a libuv loop. A timer paces the events (speed 1
 * = real time, 0 = as fast as possible); the decision is printed whenever
 * it changes; hidden-layer spikes can be saved in the project's event
 * format. Decoding runs ahead on libuv's thread pool, one chunk at a time
 * into two buffers: a worker fills one while the engine, on the loop
 * thread, consumes the other, so file I/O and inflating never stall the
 * engine. A spike recording (kind SPIKES, e.g. one written by --out) is fed
 * back as the spikes of one layer into the layer above (--layer).
 * SIGINT or SIGTERM ends the run as the end of the file would (the engine
 * flushed, the summary printed), then exits 128 + the signal: pump polls
 * the signal between events when busy, and a 100 ms timer wakes an idle
 * loop (waiting for the next event's time) to look. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "evsnn.h"

#define CHUNK 16384
#define MAX_DEC_JSON 4096

typedef struct replay_s replay_t;

typedef struct {
  uv_work_t req;
  replay_t *rp;
  evsnn_event_t *ev;
  size_t n, pos;
  int err;
  char detail[512];
  int busy;  /* queued on the pool */
  int ready; /* decoded, not yet consumed */
} chunk_t;

struct replay_s {
  uv_loop_t *loop;
  uv_timer_t timer;
  uv_timer_t watch;    /* looks for a stop signal while the loop sleeps */
  int stopped;         /* the signal that stopped the run, 0 if none */
  evsnn_event_reader_t *r;
  evsnn_ctime_t *ct;
  evsnn_counts_t counts; /* of the windows before the current one */
  evsnn_sensor_map_t map;
  int spikes_in;       /* the file is a spike recording */
  uint32_t layer;      /* which of its populations to feed */
  uint32_t readout;    /* the network's last population */
  double speed;
  int64_t window_us;   /* 0: one window */
  int64_t window_end;
  int json;
  chunk_t chunk[2];
  int cur;             /* the chunk the engine consumes */
  int eof;
  int err;
  const char *path;
  uint64_t t_wall0;    /* uv_hrtime at the first event */
  int64_t t0, t_last;
  int started;
  uint64_t events, used, dropped, windows;
  uint64_t max_lag_us;
  /* decisions */
  uint64_t n_dec;
  int64_t dec_t[MAX_DEC_JSON];
  uint32_t dec_c[MAX_DEC_JSON];
  int32_t window_decision[64];
  /* --out */
  evsnn_event_writer_t *w;
  evsnn_event_t out[1024];
  size_t n_out;
  uint64_t spikes_out;
};

static void on_decision(void *ud, int64_t t, uint32_t cls) {
  replay_t *rp = ud;
  if (!rp->json) printf("t=%.3f ms decision %u\n", (double)(t - rp->t0) * 1e-3, cls);
  if (rp->n_dec < MAX_DEC_JSON) rp->dec_t[rp->n_dec] = t, rp->dec_c[rp->n_dec] = cls;
  rp->n_dec++;
}

static void on_spike(void *ud, int64_t t, uint32_t layer, uint32_t neuron) {
  replay_t *rp = ud;
  if (!rp->w || rp->err || layer == rp->readout) return; /* the hidden populations' spikes */
  int err = evsnn_spike_event(&rp->out[rp->n_out], t, layer, neuron);
  if (err) {
    rp->err = cli_fail(err, "replay --out");
    return;
  }
  if (++rp->n_out == sizeof rp->out / sizeof rp->out[0]) {
    rp->spikes_out += rp->n_out;
    err = evsnn_event_write(rp->w, rp->out, rp->n_out);
    rp->n_out = 0;
    if (err) rp->err = cli_fail(err, "replay --out");
  }
}

/* ------------------------------------------------------- decoding ahead -- */

static void decode_work(uv_work_t *req) {
  chunk_t *c = req->data;
  c->pos = 0;
  c->err = evsnn_event_read(c->rp->r, c->ev, CHUNK, &c->n);
  if (c->err) snprintf(c->detail, sizeof c->detail, "%s", evsnn_error_detail());
}

static void pump(replay_t *rp);

static void decode_done(uv_work_t *req, int status) {
  chunk_t *c = req->data;
  c->busy = 0;
  c->ready = 1;
  (void)status;
  pump(c->rp);
}

static void decode_start(replay_t *rp, chunk_t *c) {
  if (rp->eof || c->busy || c->ready) return;
  /* One worker at a time reads the reader: the other chunk is never busy
   * while this one is (see pump). */
  c->busy = 1;
  uv_queue_work(rp->loop, &c->req, decode_work, decode_done);
}

/* ------------------------------------------------------------- engine ---- */

/* Adds the state's counters to a window's sum (each window starts afresh). */
static void counts_add(evsnn_counts_t *sum, const evsnn_ctime_t *ct) {
  evsnn_counts_t c;
  evsnn_ctime_counts(ct, &c);
  sum->steps += c.steps;
  for (uint32_t m = 0; m < EVSNN_MAX_POPS; m++) sum->spikes[m] += c.spikes[m];
  for (uint32_t q = 0; q < EVSNN_MAX_PROJS; q++) sum->synops[q] += c.synops[q], sum->dense_macs[q] += c.dense_macs[q];
}

static int feed(replay_t *rp, const evsnn_event_t *e) {
  /* No time reaches EVSNN_T_END, and t + window stays below 2^62 (evsnn/time.h). */
  if (!rp->started) rp->started = 1, rp->t0 = e->t, rp->window_end = rp->window_us ? e->t + rp->window_us : EVSNN_T_END;
  if (e->t >= rp->window_end) {
    /* The window ends: its decision stands, the state starts afresh. */
    int err = evsnn_ctime_flush(rp->ct);
    if (err) return err;
    if (rp->windows < 64) rp->window_decision[rp->windows] = evsnn_ctime_decision(rp->ct);
    rp->windows++;
    if (!rp->json) printf("window %" PRIu64 " ends at t=%.3f ms: decision %d\n", rp->windows,
                          (double)(rp->window_end - rp->t0) * 1e-3, evsnn_ctime_decision(rp->ct));
    counts_add(&rp->counts, rp->ct);
    evsnn_ctime_reset(rp->ct);
    while (e->t >= rp->window_end) rp->window_end += rp->window_us;
  }
  rp->events++;
  rp->t_last = e->t;
  if (rp->spikes_in) {
    uint32_t layer, neuron;
    evsnn_spike_decode(e, &layer, &neuron);
    if (layer != rp->layer) return rp->dropped++, 0;
    rp->used++;
    return evsnn_ctime_inject(rp->ct, e->t, layer, neuron);
  }
  int64_t j = evsnn_sensor_map_index(&rp->map, e);
  if (j < 0) return rp->dropped++, 0;
  rp->used++;
  return evsnn_ctime_push(rp->ct, e->t, (uint32_t)j);
}

static void on_timer(uv_timer_t *t) { pump(t->data); }

static void finish(replay_t *rp) {
  if (rp->err) return;
  int err = evsnn_ctime_flush(rp->ct);
  if (err) rp->err = cli_fail(err, rp->path);
  rp->eof = 2; /* done */
  uv_close((uv_handle_t *)&rp->timer, NULL);
}

/* A stop signal ends the run where it stands, as the end of the file. */
static int stop_requested(replay_t *rp) {
  if (!(rp->stopped = cli_stop_signal())) return 0;
  finish(rp);
  return 1;
}

static void on_watch(uv_timer_t *t) {
  replay_t *rp = t->data;
  if (rp->eof != 2 && !rp->err) stop_requested(rp);
}

/* Consumes what is due, keeps one decode in flight, and sleeps on the
 * timer until the next event is due. */
static void pump(replay_t *rp) {
  if (rp->eof == 2 || rp->err) return;
  for (;;) {
    if (stop_requested(rp)) return;
    chunk_t *c = &rp->chunk[rp->cur];
    if (!c->ready) {
      if (!c->busy && !rp->chunk[rp->cur ^ 1].busy) decode_start(rp, c);
      return; /* decode_done calls back */
    }
    if (c->err) {
      fprintf(stderr, "evsnn: %s: %s: %s\n", rp->path, evsnn_strerror(c->err), c->detail);
      rp->err = 1;
      uv_close((uv_handle_t *)&rp->timer, NULL);
      return;
    }
    if (c->n == 0) {
      rp->eof = 1;
      finish(rp);
      return;
    }
    /* Start decoding the next chunk while this one runs. */
    decode_start(rp, &rp->chunk[rp->cur ^ 1]);
    while (c->pos < c->n) {
      const evsnn_event_t *e = &c->ev[c->pos];
      if (stop_requested(rp)) return;
      if (rp->speed > 0 && rp->started) {
        /* Capped at 2^62 ns (146 years) on: a tiny --speed must not overflow the cast. */
        double ahead = (double)(e->t - rp->t0) * 1e3 / rp->speed;
        uint64_t due = rp->t_wall0 + (ahead < 0x1p62 ? (uint64_t)ahead : UINT64_C(1) << 62);
        uint64_t now = uv_hrtime();
        if (due > now + 500000) { /* more than 0.5 ms ahead: sleep */
          uv_timer_start(&rp->timer, on_timer, (due - now) / 1000000, 0);
          return;
        }
        if (now > due && (now - due) / 1000 > rp->max_lag_us) rp->max_lag_us = (now - due) / 1000;
      }
      if (!rp->started) rp->t_wall0 = uv_hrtime();
      int err = feed(rp, e);
      if (err) {
        rp->err = cli_fail(err, rp->path);
        uv_close((uv_handle_t *)&rp->timer, NULL);
        return;
      }
      if (rp->err) {
        uv_close((uv_handle_t *)&rp->timer, NULL);
        return;
      }
      c->pos++;
    }
    c->ready = 0;
    rp->cur ^= 1;
  }
}

static int usage_replay(void) {
  printf("usage: evsnn replay --model MODEL FILE [--speed X] [--window MS] [--out SPIKES] [--layer L] [--dt US]\n"
         "                    [--crop x0,y0,w,h] [--pool K] [--polarity both|merge|on|off] [--json]\n"
         "  --speed X    1 = real time (default), 2 = twice as fast, 0 = as fast as possible\n"
         "  --window MS  decide per window of MS ms of recording, starting afresh each window (default: one window)\n"
         "  --out FILE   save the hidden layers' spikes (evsnn event format, kind SPIKES)\n"
         "  --layer L    for a spike recording: feed its layer-L spikes into layer L+1 (default 1)\n"
         "  --dt US      the step the model was trained with, tau = -dt / ln(beta) (default: the\n"
         "               model's own, recorded when it was trained on event recordings, else 1000)\n"
         "  --crop, --pool, --polarity   how the sensor maps onto the inputs (default: the map the\n"
         "               model recorded, refusing another sensor size, else fitted; evsnn/sensor.h)\n");
  return 0;
}

int evsnn_cmd_replay(int argc, char **argv) {
  const char *model = NULL, *path = NULL, *out = NULL;
  double speed = 1, window_ms = 0, dt = 0; /* 0: the model's own step */
  long layer = 1;
  int json = 0;
  cli_map_t mapo;
  cli_map_init(&mapo);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_replay();
    if (!strcmp(a, "--json")) { json = 1; continue; }
    if (a[0] != '-') {
      if (path) return cli_usage("replay: one FILE at a time ('%s' and '%s')", path, a);
      path = a;
      continue;
    }
    if (!val) return cli_usage("replay: %s needs a value", a);
    i++;
    int mo = cli_map_option(&mapo, a, val);
    if (mo < 0) return 2;
    if (mo > 0) continue;
    if (!strcmp(a, "--model")) model = val;
    else if (!strcmp(a, "--out")) out = val;
    else if (!strcmp(a, "--speed")) {
      if (!cli_parse_double(a, val, &speed)) return 2;
      if (!(speed >= 0)) return cli_usage("replay: --speed must be >= 0");
    } else if (!strcmp(a, "--window")) {
      if (!cli_parse_double(a, val, &window_ms)) return 2;
      if (!(window_ms >= 0 && window_ms * 1000 < (double)EVSNN_T_END))
        return cli_usage("replay: --window must be >= 0 ms and under 2^61 us");
    } else if (!strcmp(a, "--dt")) {
      if (!cli_parse_double(a, val, &dt)) return 2;
      if (!(dt > 0)) return cli_usage("replay: --dt must be > 0 us");
    } else if (!strcmp(a, "--layer")) {
      if (!cli_parse_long(a, val, 0, EVSNN_MAX_LAYERS - 1, &layer)) return 2;
    } else
      return cli_usage("replay: unknown option '%s' (see evsnn replay --help)", a);
  }
  if (!model || !path) return cli_usage("replay: --model MODEL and a FILE are required");
  evsnn_net_t net;
  if (cli_load_model_dt(model, &net, &dt)) return 1;
  replay_t *rp = calloc(1, sizeof *rp);
  evsnn_event_t *bufs = malloc(sizeof(evsnn_event_t) * 2 * CHUNK);
  if (!rp || !bufs) {
    free(rp), free(bufs), evsnn_net_free(&net);
    return cli_fail(EVSNN_ENOMEM, "replay");
  }
  int rc = 0;
  rp->path = path, rp->speed = speed, rp->json = json, rp->layer = (uint32_t)layer, rp->readout = net.n_pops - 1;
  rp->window_us = (int64_t)(window_ms * 1000);
  int err;
  if ((err = evsnn_event_reader_open(&rp->r, path, NULL))) {
    rc = cli_fail(err, path);
    goto out;
  }
  const evsnn_event_info_t *info = evsnn_event_reader_info(rp->r);
  rp->spikes_in = info->kind == EVSNN_EVENTS_SPIKES;
  if (rp->spikes_in) {
    if (layer < 1 || (uint32_t)layer + 1 >= net.n_pops) {
      rc = cli_usage("replay: --layer %ld: the model's hidden populations are 1..%u", layer, net.n_pops - 2);
      goto out;
    }
  } else if ((err = cli_map_make(&mapo, info->width, info->height, &net.sensor, evsnn_net_inputs(&net),
                                 &rp->map))) {
    rc = cli_fail(err, path);
    goto out;
  }
  evsnn_ctime_opts_t o = {.dt_us = dt, .on_decision = on_decision, .on_spike = out ? on_spike : NULL, .ud = rp};
  if ((err = evsnn_ctime_new(&rp->ct, &net, &o))) {
    rc = cli_fail(err, "replay");
    goto out;
  }
  if (out) {
    evsnn_event_info_t oi;
    uint32_t sizes[EVSNN_MAX_POPS];
    for (uint32_t m = 0; m < net.n_pops; m++) sizes[m] = net.pop[m].n;
    evsnn_spike_info(&oi, sizes, 1, net.n_pops - 1, info->label, "");
    if ((err = evsnn_event_writer_open(&rp->w, out, &oi))) {
      rc = cli_fail(err, out);
      goto out;
    }
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  rp->loop = &loop;
  uv_timer_init(&loop, &rp->timer);
  rp->timer.data = rp;
  uv_timer_init(&loop, &rp->watch);
  rp->watch.data = rp;
  uv_timer_start(&rp->watch, on_watch, 100, 100);
  uv_unref((uv_handle_t *)&rp->watch); /* it never keeps the loop alive */
  cli_stop_catch();
  for (int i = 0; i < 2; i++) rp->chunk[i].rp = rp, rp->chunk[i].ev = bufs + i * CHUNK, rp->chunk[i].req.data = &rp->chunk[i];
  uint64_t wall0 = uv_hrtime();
  pump(rp);
  uv_run(&loop, UV_RUN_DEFAULT);
  double wall = (double)(uv_hrtime() - wall0) * 1e-9;
  cli_stop_release();
  uv_close((uv_handle_t *)&rp->watch, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (rp->w) {
    rp->spikes_out += rp->n_out;
    if (!rp->err && rp->n_out) err = evsnn_event_write(rp->w, rp->out, rp->n_out);
    int cerr = evsnn_event_writer_close(rp->w);
    rp->w = NULL;
    if (!rp->err && (err || cerr)) rp->err = cli_fail(err ? err : cerr, out);
  }
  if (rp->err) {
    rc = 1;
    goto out;
  }
  counts_add(&rp->counts, rp->ct);
  const evsnn_counts_t c = rp->counts;
  double syn = 0;
  for (uint32_t q = 0; q < net.n_projs; q++) syn += (double)c.synops[q];
  double span = rp->started ? (double)(rp->t_last - rp->t0) * 1e-6 : 0;
  int32_t decision = evsnn_ctime_decision(rp->ct);
  if (!json) {
    printf("%s: %" PRIu64 " events (%" PRIu64 " fed, %" PRIu64 " outside the input map) over %.3f s of recording in %.3f s"
           " (%.1fx real time); %.0f synaptic ops, %.2f M/s; final decision %d",
           path, rp->events, rp->used, rp->dropped, span, wall, wall > 0 ? span / wall : 0.0, syn, wall > 0 ? syn / wall * 1e-6 : 0.0,
           decision);
    if (info->label >= 0) printf(" (label %d)", info->label);
    printf("\n");
    if (out) printf("%" PRIu64 " hidden spikes written to %s\n", rp->spikes_out, out);
  } else {
    cli_json_t j;
    cli_json_start(&j, stdout);
    cli_json_object(&j, NULL);
    cli_json_string(&j, "file", path);
    cli_json_uint(&j, "events", rp->events);
    cli_json_uint(&j, "fed", rp->used);
    cli_json_uint(&j, "dropped", rp->dropped);
    cli_json_number(&j, "recording_seconds", "%.6f", span);
    cli_json_number(&j, "wall_seconds", "%.6f", wall);
    cli_json_number(&j, "speedup", "%.3f", wall > 0 ? span / wall : 0.0);
    cli_json_number(&j, "speed", "%g", speed);
    cli_json_uint(&j, "max_lag_us", rp->max_lag_us);
    cli_json_number(&j, "synops", "%.0f", syn);
    cli_json_number(&j, "synops_per_second", "%.1f", wall > 0 ? syn / wall : 0.0);
    cli_json_number(&j, "dt_us", "%g", dt);
    cli_json_array(&j, "spikes");
    for (uint32_t m = 0; m + 1 < net.n_pops; m++) cli_json_uint(&j, NULL, c.spikes[m]);
    cli_json_end(&j);
    cli_json_int(&j, "decision", decision);
    cli_json_int(&j, "label", info->label);
    cli_json_uint(&j, "decision_changes", rp->n_dec);
    cli_json_array(&j, "decisions");
    for (uint64_t i = 0; i < rp->n_dec && i < MAX_DEC_JSON; i++) {
      cli_json_array(&j, NULL);
      cli_json_int(&j, NULL, rp->dec_t[i]);
      cli_json_uint(&j, NULL, rp->dec_c[i]);
      cli_json_end(&j);
    }
    cli_json_end(&j);
    cli_json_array(&j, "windows");
    for (uint64_t i = 0; i < rp->windows && i < 64; i++) cli_json_int(&j, NULL, rp->window_decision[i]);
    cli_json_int(&j, NULL, decision);
    cli_json_end(&j);
    cli_json_uint(&j, "spikes_written", rp->spikes_out);
    cli_json_end(&j);
  }
  if (rp->stopped) {
    fflush(stdout);
    fprintf(stderr, "evsnn: replay: stopped by %s after %" PRIu64 " events\n", rp->stopped == SIGINT ? "SIGINT" : "SIGTERM",
            rp->events);
    rc = 128 + rp->stopped;
  }
out:
  evsnn_event_writer_close(rp->w);
  evsnn_event_reader_close(rp->r);
  evsnn_ctime_free(rp->ct);
  free(rp);
  free(bufs);
  evsnn_net_free(&net);
  return rc;
}
