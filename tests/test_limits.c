/* Time at the limits and stopping on a signal (issue 16). Files whose times
 * reach INT64_MAX, overflow a delta or span INT64_MIN..INT64_MAX go through
 * the library and through every command of the built binary, each of which
 * must answer with one line naming the event within a time bound (the bound
 * catches the old hang, it measures nothing); SIGTERM and SIGINT stop a
 * busy or sleeping replay, stats and train with exit status 128 + signal. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aedat4_packets.h"
#include "evsnn/ctime.h"
#include "evsnn/error.h"
#include "evsnn/events.h"
#include "evsnn/model.h"

#define T_LAST (EVSNN_T_END - 1)

/* ------------------------------------------------------------ files ---- */

static char dir[64], out_path[96], err_path[96];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/evsnn-limits-XXXXXX");
  cr_assert(mkdtemp(dir));
  snprintf(out_path, sizeof out_path, "%s/stdout", dir);
  snprintf(err_path, sizeof err_path, "%s/stderr", dir);
}

static void remove_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}

/* DIR/name, in one of 16 buffers used in turn: enough for one call's arguments. */
static const char *in_dir(const char *name) {
  static char paths[16][128];
  static int k;
  char *p = paths[k++ % 16];
  snprintf(p, 128, "%s/%s", dir, name);
  return p;
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert(f && fwrite(p, 1, n, f) == n && fclose(f) == 0, "%s", path);
}

static const evsnn_event_info_t sensor4 = {.format = "evsnn", .width = 4, .height = 4, .channels = 2, .label = -1,
                                            .meta = ""};

static size_t varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) p[n++] = (uint8_t)(v | 0x80), v >>= 7;
  p[n++] = (uint8_t)v;
  return n;
}

/* Our format's body (uncompressed, which readers take as it is): n events
 * each dt us after the one before (dt < 2^61, the largest a record holds),
 * then one `last` us on, and a correct end record. Times are what a writer
 * never makes: 2^61 - 1, 2^62 - 2, ... */
static size_t big_deltas(uint8_t *p, int n, uint64_t dt, uint64_t last) {
  size_t k = evsnn_event_header_size(&sensor4);
  cr_assert_eq(evsnn_event_header_encode(&sensor4, p), 0);
  for (int i = 0; i <= n; i++) {
    k += varint(p + k, (i < n ? dt : last) << 3); /* zigzag(dt) = 2 dt, then << 2, p = 0 */
    memset(p + k, 0, 4), k += 4;                  /* x = y = 0 */
  }
  p[k++] = 1;
  for (int i = 0; i < 8; i++) p[k++] = (uint8_t)((uint64_t)(n + 1) >> (8 * i));
  return k;
}

/* Five events ending exactly at INT64_MAX: 4 x (2^61 - 1) + 3. */
static void write_int64_max(const char *path) {
  uint8_t b[256];
  write_bytes(path, b, big_deltas(b, 4, (uint64_t)T_LAST, 3));
}

/* Six deltas of 2^61 - 1: the old decoder's t += dt overflowed at the fifth. */
static void write_overflow(const char *path) {
  uint8_t b[256];
  write_bytes(path, b, big_deltas(b, 5, (uint64_t)T_LAST, (uint64_t)T_LAST));
}

/* An AEDAT 4.0 file (no compression) of one packet with these times. */
static void write_aedat4(const char *path, const int64_t *t, uint32_t n) {
  evsnn_event_t ev[8] = {{0}};
  uint8_t raw[36 + 16 * 8], b[30 + 8 + sizeof raw];
  for (uint32_t i = 0; i < n; i++) ev[i].t = t[i], ev[i].x = (uint16_t)i, ev[i].p = 1;
  size_t k = aedat4_bare_header(b);
  k += put_packet(b + k, 0, raw, event_packet(raw, ev, n));
  write_bytes(path, b, k);
}

static const int64_t span_times[] = {INT64_MIN, 0, INT64_MAX};

/* A model for a 4x4 sensor (32 inputs, both polarities), hidden width h. */
static void write_model(const char *path, uint32_t h) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_init(&net, (uint32_t[]){32, h, 10}, 3, 0.9f), 0);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_FANIN, (float[]){0.5f});
  cr_assert_eq(evsnn_model_save(path, &net, NULL, NULL), 0, "%s", evsnn_error_detail());
  evsnn_net_free(&net);
}

/* -------------------------------------------------------- the binary ---- */

typedef struct {
  int status;      /* as waitpid's */
  int in_time;     /* ended before the limit (else it was killed) */
  char out[16384]; /* the start of stdout */
  char err[4096];  /* the start of stderr */
} ran_t;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Starts `evsnn argv...` in the source tree, stdout and stderr to files. */
static pid_t start(const char *const *argv) {
  const char *build = getenv("EVSNN_BUILDDIR"), *src = getenv("EVSNN_SRCDIR");
  char bin[4096];
  snprintf(bin, sizeof bin, "%s/evsnn", build ? build : ".");
  const char *out = out_path, *err = err_path;
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    if ((src && chdir(src)) || !freopen(out, "w", stdout) || !freopen(err, "w", stderr)) _exit(127);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static void slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
}

/* Waits up to limit seconds for pid, then kills it; fills r. */
static void wait_for(pid_t pid, double limit, ran_t *r) {
  double end = now() + limit;
  r->in_time = 0;
  while (now() < end)
    if (waitpid(pid, &r->status, WNOHANG) == pid) {
      r->in_time = 1;
      break;
    } else
      usleep(10000);
  if (!r->in_time) kill(pid, SIGKILL), waitpid(pid, &r->status, 0);
  slurp(out_path, r->out, sizeof r->out);
  slurp(err_path, r->err, sizeof r->err);
}

static void run(ran_t *r, double limit, const char *const *argv) { wait_for(start(argv), limit, r); }

/* Non-zero once pid has a handler for sig (Linux: SigCgt in /proc), so a
 * signal sent now tests the command's handling, not its start-up. */
static int catches(pid_t pid, int sig) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  unsigned long long mask = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "SigCgt:", 7)) mask = strtoull(line + 7, NULL, 16);
  if (f) fclose(f);
  return (mask >> (sig - 1)) & 1;
}

static void wait_until_catching(pid_t pid, int sig) {
  double end = now() + 30;
  while (!catches(pid, sig) && now() < end) usleep(5000);
  cr_assert(catches(pid, sig), "the command never installed its handler for signal %d", sig);
}

static int lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* Every command that reads FILE fails with exit status 1 and one line on
 * stderr holding `what`, well within the limit. */
static void every_command_refuses(const char *file, const char *what) {
  char model[128], conv[128];
  snprintf(model, sizeof model, "%s", in_dir("model.evsnn"));
  snprintf(conv, sizeof conv, "%s", in_dir("converted.evs"));
  write_model(model, 16);
  const char *const cmds[][12] = {
      {"evsnn", "events", "info", file, NULL},
      {"evsnn", "events", "info", file, "--json", NULL},
      {"evsnn", "events", "cat", file, NULL},
      {"evsnn", "events", "convert", file, conv, NULL},
      {"evsnn", "stats", "--model", model, "--crop", "0,0,4,4", file, NULL},
      {"evsnn", "stats", "--model", model, "--crop", "0,0,4,4", "--json", file, NULL},
      {"evsnn", "replay", "--model", model, "--crop", "0,0,4,4", "--speed", "0", file, NULL},
      {"evsnn", "replay", "--model", model, "--crop", "0,0,4,4", "--speed", "0", "--window", "1", file, NULL},
  };
  for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
    ran_t r;
    run(&r, 20, cmds[c]);
    cr_expect(r.in_time, "%s %s: still running after 20 s", cmds[c][1], cmds[c][2]);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1, "%s %s: status %d, stderr: %s", cmds[c][1],
              cmds[c][2], r.status, r.err);
    cr_expect(strstr(r.err, what) != NULL && lines(r.err) == 1, "%s %s: stderr: %s", cmds[c][1], cmds[c][2], r.err);
  }
}

/* ----------------------------------------------------------- readers ---- */

TestSuite(limits, .init = make_dir, .fini = remove_dir);

static int drain(evsnn_event_reader_t *r, evsnn_event_t *ev, size_t cap, size_t *got) {
  size_t n;
  int err;
  *got = 0;
  while ((err = evsnn_event_read(r, ev + *got, cap - *got, &n)) == 0 && n > 0) *got += n;
  return err;
}

/* The delta that would pass 2^61 is refused with its byte offset, after
 * the event before it: 2^61 - 1, the last time there is. */
Test(limits, our_decoder_refuses_a_delta_leaving_the_domain) {
  uint8_t b[256];
  size_t len = big_deltas(b, 5, (uint64_t)T_LAST, (uint64_t)T_LAST), got;
  evsnn_event_reader_t *r;
  evsnn_event_t ev[8];
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b, len, NULL), 0);
  cr_expect_eq(drain(r, ev, 8, &got), EVSNN_ERANGE);
  cr_expect_eq(got, 1);
  cr_expect_eq(ev[0].t, T_LAST);
  size_t second = evsnn_event_header_size(&sensor4) + 14; /* a 10-byte varint, x, y */
  char want[64];
  snprintf(want, sizeof want, "byte %zu: event 1:", second);
  cr_expect(strstr(evsnn_error_detail(), want) && strstr(evsnn_error_detail(), "time domain"), "%s",
            evsnn_error_detail());
  evsnn_event_reader_close(r);

  /* Push mode, as the server decodes: the same refusal, the same offset. */
  size_t h = evsnn_event_header_size(&sensor4), used;
  int64_t t = 0;
  cr_expect_eq(evsnn_event_records_decode(&t, b + h, len - h, ev, 8, &got, &used), EVSNN_ERANGE);
  cr_expect(got == 1 && t == T_LAST && used == 14, "%zu events, t %lld, %zu bytes", got, (long long)t, used);
}

/* What is written is what can be read: a time outside the domain is
 * refused by every writer, naming the event; 2^61 - 1 round-trips. */
Test(limits, writers_refuse_times_outside_the_domain) {
  evsnn_event_t ev[2] = {{.t = T_LAST}, {.t = EVSNN_T_END}};
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &sensor4), 0);
  cr_expect_eq(evsnn_event_buf_write(&b, ev + 1, 1), EVSNN_ERANGE);
  cr_expect_eq(evsnn_event_buf_write(&b, &(evsnn_event_t){.t = -1}, 1), EVSNN_ERANGE, "%s", evsnn_error_detail());
  cr_expect(strstr(evsnn_error_detail(), "event 0: t -1 us outside"), "%s", evsnn_error_detail());
  cr_assert_eq(evsnn_event_buf_write(&b, ev, 1), 0);
  cr_assert_eq(evsnn_event_buf_finish(&b), 0);
  evsnn_event_reader_t *r;
  evsnn_event_t back[2];
  size_t got;
  cr_assert_eq(evsnn_event_reader_open_mem(&r, b.data, b.len, NULL), 0);
  cr_expect_eq(drain(r, back, 2, &got), 0, "%s", evsnn_error_detail());
  cr_expect(got == 1 && back[0].t == T_LAST);
  evsnn_event_reader_close(r);
  evsnn_event_buf_free(&b);

  const char *const names[] = {"x.evs", "x.csv", "x.txt", "x.aedat", "x.bin"};
  for (size_t i = 0; i < 5; i++) {
    evsnn_event_writer_t *w;
    cr_assert_eq(evsnn_event_writer_open(&w, in_dir(names[i]), &sensor4), 0, "%s", evsnn_error_detail());
    int err = evsnn_event_write(w, ev + 1, 1);
    cr_expect(err == EVSNN_ERANGE && strstr(evsnn_error_detail(), "event 0"), "%s: %s", names[i], evsnn_error_detail());
    evsnn_event_writer_close(w);
  }
  /* The other formats' own order check, which the readers' gate now hides
   * from `events convert`. */
  evsnn_event_writer_t *w;
  cr_assert_eq(evsnn_event_writer_open(&w, in_dir("back.aedat"), &sensor4), 0);
  int err = evsnn_event_write(w, (evsnn_event_t[]){{.t = 200000}, {.t = 100000}}, 2);
  cr_expect(err == EVSNN_EORDER || err == EVSNN_ERANGE, "%s", evsnn_err_name(err));
  cr_expect(strstr(evsnn_error_detail(), "event 1"), "%s", evsnn_error_detail());
  evsnn_event_writer_close(w);
}

/* AEDAT 4.0 stores absolute i64 times: INT64_MIN is refused as event 0,
 * a time going back as EORDER naming its index, and in-domain extremes
 * read back exactly. */
Test(limits, aedat4_times_are_checked_by_the_reader) {
  evsnn_event_reader_t *r;
  evsnn_event_t ev[8];
  size_t got;
  write_aedat4(in_dir("span.aedat4"), span_times, 3);
  cr_assert_eq(evsnn_event_reader_open(&r, in_dir("span.aedat4"), NULL), 0, "%s", evsnn_error_detail());
  cr_expect_eq(drain(r, ev, 8, &got), EVSNN_ERANGE);
  cr_expect(got == 0 && strstr(evsnn_error_detail(), "event 0: t -9223372036854775808 us outside"), "%s",
            evsnn_error_detail());
  evsnn_event_reader_close(r);

  write_aedat4(in_dir("back.aedat4"), (int64_t[]){10, 20, 15, 30}, 4);
  cr_assert_eq(evsnn_event_reader_open(&r, in_dir("back.aedat4"), NULL), 0);
  cr_expect_eq(drain(r, ev, 8, &got), EVSNN_EORDER);
  cr_expect(got == 2 && strstr(evsnn_error_detail(), "event 2: t 15 us goes back from 20 us"), "%zu: %s", got,
            evsnn_error_detail());
  evsnn_event_reader_close(r);

  write_aedat4(in_dir("edges.aedat4"), (int64_t[]){0, T_LAST}, 2);
  cr_assert_eq(evsnn_event_reader_open(&r, in_dir("edges.aedat4"), NULL), 0);
  cr_expect_eq(drain(r, ev, 8, &got), 0, "%s", evsnn_error_detail());
  cr_expect(got == 2 && ev[0].t == 0 && ev[1].t == T_LAST);
  evsnn_event_reader_close(r);
}

/* ------------------------------------------------------------ engine ---- */

/* The engine refuses times outside the domain and delays that could carry
 * a delivery past 2^62; at the domain's last time, with the longest delays
 * it takes, flush still ends (it used to spin at INT64_MAX). */
Test(limits, ctime_at_the_last_time_flushes, .timeout = 30) {
  evsnn_net_t net;
  cr_assert_eq(evsnn_net_init(&net, (uint32_t[]){4, 8, 3}, 3, 0.9f), 0);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_FANIN, (float[]){0.01f});
  evsnn_ctime_t *ct;
  evsnn_ctime_opts_t o = {.delay_us = {0, T_LAST, 1}};
  cr_expect_eq(evsnn_ctime_new(&ct, &net, &o), EVSNN_EINVAL, "delays adding up to 2^61");
  cr_expect_null(ct);
  o.delay_us[1] = T_LAST / 2, o.delay_us[2] = T_LAST / 2, o.refractory_us[1] = T_LAST;
  cr_assert_eq(evsnn_ctime_new(&ct, &net, &o), 0, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_ctime_push(ct, INT64_MAX, 0), EVSNN_ERANGE);
  cr_expect_eq(evsnn_ctime_push(ct, -1, 0), EVSNN_ERANGE);
  cr_expect_eq(evsnn_ctime_advance(ct, EVSNN_T_END), EVSNN_ERANGE);
  for (uint32_t i = 0; i < 4; i++) cr_assert_eq(evsnn_ctime_push(ct, T_LAST, i), 0, "%s", evsnn_error_detail());
  cr_expect_eq(evsnn_ctime_flush(ct), 0);
  cr_expect_eq(evsnn_ctime_pending(ct), 0);
  evsnn_counts_t c;
  evsnn_ctime_counts(ct, &c);
  cr_expect_gt(c.spikes[1], 0, "the hidden layer spiked, so its delay and refractory clock were used");
  evsnn_ctime_free(ct);
  evsnn_net_free(&net);
}

/* -------------------------------------------------------- the command ---- */

/* The stream that froze stats and replay: they answer at once, naming the
 * first event past the domain. */
Test(limits, a_stream_ending_at_int64_max_is_refused_by_every_command, .timeout = 200) {
  write_int64_max(in_dir("max.evs"));
  every_command_refuses(in_dir("max.evs"), "event 1: t 2305843009213693951 + 2305843009213693951 us leaves the time domain");
}

Test(limits, a_delta_overflow_is_refused_by_every_command, .timeout = 200) {
  write_overflow(in_dir("overflow.evs"));
  every_command_refuses(in_dir("overflow.evs"), "leaves the time domain");
}

Test(limits, aedat4_int64_min_to_max_is_refused_by_every_command, .timeout = 200) {
  write_aedat4(in_dir("span.aedat4"), span_times, 3);
  every_command_refuses(in_dir("span.aedat4"), "event 0: t -9223372036854775808 us outside the time domain");
}

/* events info reports the true extremes, here the domain's own. */
Test(limits, events_info_reports_the_extremes) {
  write_aedat4(in_dir("edges.aedat4"), (int64_t[]){0, 7, T_LAST}, 3);
  ran_t r;
  run(&r, 20, (const char *const[]){"evsnn", "events", "info", in_dir("edges.aedat4"), "--json", NULL});
  cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%s", r.err);
  cr_expect(strstr(r.out, "\"t_min\": 0, \"t_max\": 2305843009213693951"), "%s", r.out);
}

/* ----------------------------------------------------------- signals ---- */

/* A replay kept busy (speed 0, 65,535 hidden neurons, 200,000 events) stops
 * on SIGTERM with its summary and status 143; so does stats. */
static void busy_files(void) {
  write_model(in_dir("wide.evsnn"), 65535);
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &sensor4), 0);
  static evsnn_event_t ev[200000];
  for (uint32_t i = 0; i < 200000; i++) ev[i] = (evsnn_event_t){.t = i, .x = i % 4, .y = i / 4 % 4, .p = i & 1};
  cr_assert_eq(evsnn_event_buf_write(&b, ev, 200000), 0);
  cr_assert_eq(evsnn_event_buf_finish(&b), 0);
  write_bytes(in_dir("busy.evs"), b.data, b.len);
  evsnn_event_buf_free(&b);
}

static void stops_on(int sig, const char *const *argv, const char *said) {
  ran_t r;
  pid_t pid = start(argv);
  wait_until_catching(pid, sig);
  usleep(100000); /* into the busy loop; whether or not it is yet, the signal must stop it */
  kill(pid, sig);
  wait_for(pid, 30, &r);
  cr_expect(r.in_time, "%s: still running 30 s after the signal", argv[1]);
  cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 128 + sig, "%s: status %d, stderr: %s", argv[1], r.status,
            r.err);
  cr_expect(strstr(r.err, said), "%s: stderr: %s", argv[1], r.err);
}

Test(limits, sigterm_stops_a_busy_replay_and_stats, .timeout = 120) {
  busy_files();
  stops_on(SIGTERM, (const char *const[]){"evsnn", "replay", "--model", in_dir("wide.evsnn"), "--speed", "0",
                                          in_dir("busy.evs"), NULL}, "replay: stopped by SIGTERM after");
  stops_on(SIGTERM, (const char *const[]){"evsnn", "stats", "--model", in_dir("wide.evsnn"), in_dir("busy.evs"), NULL},
           "stats: stopped by SIGTERM after");
}

/* A replay asleep until its next event, 100 s of recording away, wakes to
 * SIGINT. */
Test(limits, sigint_wakes_a_sleeping_replay, .timeout = 60) {
  write_model(in_dir("model.evsnn"), 16);
  evsnn_event_buf_t b;
  cr_assert_eq(evsnn_event_buf_init(&b, &sensor4), 0);
  evsnn_event_t ev[2] = {{.t = 0}, {.t = 100000000}};
  cr_assert_eq(evsnn_event_buf_write(&b, ev, 2), 0);
  cr_assert_eq(evsnn_event_buf_finish(&b), 0);
  write_bytes(in_dir("gap.evs"), b.data, b.len);
  evsnn_event_buf_free(&b);
  stops_on(SIGINT, (const char *const[]){"evsnn", "replay", "--model", in_dir("model.evsnn"), in_dir("gap.evs"), NULL},
           "replay: stopped by SIGINT after 1 events");
}

/* SIGTERM saves the checkpoint, as Ctrl-C does (in the middle of epoch 1 on
 * any machine; between epochs the model just saved is the checkpoint). */
Test(limits, sigterm_checkpoints_training, .timeout = 120) {
  const char *ck = in_dir("checkpoint.evsnn");
  stops_on(SIGTERM, (const char *const[]){"evsnn", "train", "--data", "datasets/sample", "--epochs", "2",
                                          "--limit-train", "3000", "--limit-test", "100", "--threads", "1", "--out",
                                          ck, NULL}, "evsnn: interrupted");
  evsnn_net_t net;
  evsnn_adam_t adam;
  cr_expect_eq(evsnn_model_load(ck, &net, NULL, &adam), 0, "%s", evsnn_error_detail());
  cr_expect_gt(adam.n, 0, "the checkpoint holds the optimiser state");
  evsnn_adam_free(&adam);
  evsnn_net_free(&net);
}
