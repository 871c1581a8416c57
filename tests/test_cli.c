/* The evsnn command as a user meets it: exit codes and one-line errors for
 * bad input, a tiny training run's JSON summary, and the JSON writer behind
 * every --json (src/cli/json.c), directly and through each command, with
 * jansson as the independent parser; the man page against --help. Runs the
 * built binary. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "cli/json.h"
#include "evsnn/error.h"
#include "evsnn/model.h"

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

Test(cli, missing_data_dir_is_one_line_naming_it) {
  char out[4096], err[4096];
  cr_expect_eq(run("bench --data /nonexistent/mnist", out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "/nonexistent/mnist") != NULL, "stderr: %s", err);
  cr_expect(strstr(err, "no such file") != NULL, "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
}

/* Each thing said once: the path, then what is wrong with it. */
Test(cli, missing_event_file_is_named_once) {
  char out[4096], err[4096];
  cr_expect_eq(run("events cat /nonexistent/rec.evs.gz", out, sizeof out, err, sizeof err), 1);
  cr_expect_str_eq(err, "evsnn: /nonexistent/rec.evs.gz: no such file or directory\n");
  cr_expect_eq(run("events --help", out, sizeof out, err, sizeof err), 0);
  cr_expect(strstr(out, "events cat FILE") != NULL, "stdout: %s", out);
}

/* Without --data, outside the source tree and with nothing installed, the
 * one line says where it looked and what to do. */
Test(cli, no_data_anywhere_says_where_it_looked) {
  char sample[512];
  snprintf(sample, sizeof sample, "%s/sample/train-images-idx3-ubyte.gz", EVSNN_PKGDATADIR);
  if (access(sample, F_OK) == 0) cr_skip("an installed sample is there (%s)", sample);
  const char *build = getenv("EVSNN_BUILDDIR");
  char dir[] = "/tmp/evsnn-cli-empty.XXXXXX", cmd[8192], err[4096];
  cr_assert(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "cd '%s' && env -u EVSNN_DATA '%s/evsnn' train --epochs 1 2>&1 >/dev/null", dir,
           build ? build : ".");
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  size_t n = fread(err, 1, sizeof err - 1, p);
  err[n] = '\0';
  int status = pclose(p);
  rmdir(dir);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, err);
  cr_expect(strstr(err, "datasets/mnist") && strstr(err, "--data DIR") && strstr(err, EVSNN_PKGDATADIR), "%s", err);
  cr_expect_eq(count_lines(err), 1, "%s", err);
}

Test(cli, truncated_idx_file_is_reported_with_the_file) {
  char dir[] = "/tmp/evsnn-cli-data.XXXXXX", path[256], args[512], out[4096], err[4096];
  cr_assert(mkdtemp(dir));
  static const char *names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                "t10k-labels-idx1-ubyte"};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "wb");
    /* A valid images header promising 10 images of 28x28, then only 100 bytes. */
    unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28};
    if (i % 2) hdr[3] = 1;
    fwrite(hdr, 1, i % 2 ? 8 : 16, f);
    for (int b = 0; b < (i % 2 ? 10 : 100); b++) fputc(0, f);
    fclose(f);
  }
  snprintf(args, sizeof args, "train --data %s --epochs 1", dir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "train-images-idx3-ubyte") != NULL, "stderr: %s", err);
  cr_expect(strstr(err, "truncated") != NULL, "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

Test(cli, usage_errors_exit_2) {
  char out[4096], err[4096];
  cr_expect_eq(run("no-such-command", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("train --grad sideways", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--grad") != NULL, "stderr: %s", err);
  cr_expect_eq(run("bench --limit 0", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("train --epochs", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("train --lr-schedule sideways", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--lr-schedule") && strstr(err, "warmup-cosine"), "stderr: %s", err);
  cr_expect_eq(run("train --warmup 1", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--warmup") != NULL, "stderr: %s", err);
}

Test(cli, tiny_training_run_prints_a_json_summary, .timeout = 60) {
  char out[8192], err[8192];
  char model[] = "/tmp/evsnn-cli-model.XXXXXX", args[512];
  int fd = mkstemp(model);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(args, sizeof args, "train --data datasets/sample --epochs 1 --limit-train 512 --limit-test 200 --lr 1e-3 "
           "--train-steps 8 --out %s --json", model);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  /* stderr is not a terminal here: plain progress lines at 1/4, 2/4, 3/4. */
  const char *q = strstr(err, "  epoch 1:    128/512 ");
  cr_expect(q && strstr(q, "samples/s") && strstr(q, "eta"), "stderr: %s", err);
  cr_expect(strstr(err, "  epoch 1:    256/512 ") && strstr(err, "  epoch 1:    384/512 "), "stderr: %s", err);
  cr_expect(strchr(err, '\r') == NULL, "no redrawn lines in a log: %s", err);
  cr_expect(strstr(err, "EMBEDDED SAMPLE") == NULL, "an explicit --data is not the fallback");
  evsnn_net_t net;
  char *meta;
  cr_assert_eq(evsnn_model_load(model, &net, &meta, NULL), 0, "%s", evsnn_error_detail());
  cr_expect_eq(net.sizes[1], 300);
  cr_expect(strstr(meta, "preset=bondarev2021\n") && strstr(meta, "train_steps=8\n"), "meta: %s", meta);
  /* The preset's schedule, with --lr as its initial rate: warm-up to 10 x --lr. */
  cr_expect(strstr(meta, "lr_schedule=warmup-cosine\n") && strstr(meta, "lr_peak=0.01\n"), "meta: %s", meta);
  cr_expect(strstr(err, "lr 0.001, up to 0.01 in 0.05 epoch(s), cosine to 0") != NULL, "stderr: %s", err);
  free(meta);
  evsnn_net_free(&net);
  /* evsnn test on the saved model repeats train's final test pass exactly. */
  char out2[8192];
  snprintf(args, sizeof args, "test --model %s --data datasets/sample --limit 200 --json", model);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "stderr: %s", err);
  const char *j = strstr(out2, "{\"accuracy\": ");
  cr_assert(j, "output: %s", out2);
  cr_expect(strstr(out2, "\"anytime\": [") != NULL);
  unlink(model);
  char *last = out + strlen(out);
  while (last > out && last[-1] == '\n') *--last = '\0';
  last = strrchr(out, '\n');
  last = last ? last + 1 : out;
  cr_expect(last[0] == '{' && strstr(last, "\"test_accuracy\"") && strstr(last, "\"spike_rates\""), "last line: %s", last);
  double acc = -1;
  const char *a = strstr(last, "\"test_accuracy\": ");
  if (a) acc = atof(a + strlen("\"test_accuracy\": "));
  cr_expect(acc > 0.3 && acc <= 1.0, "test accuracy %g", acc);
  cr_expect_float_eq(atof(j + strlen("{\"accuracy\": ")), acc, 1e-9, "test %s vs train %g", j, acc);
}

/* The per-epoch lines up to their test accuracy: what must not depend on
 * timing. */
static void keep_results(const char *out, char *kept, size_t cap) {
  size_t k = 0;
  for (const char *line = out; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
    const char *end = strstr(line, " (T=");
    const char *eol = strchr(line, '\n');
    if (strncmp(line, "epoch ", 6) || !end || (eol && end > eol)) continue;
    k += (size_t)snprintf(kept + k, cap - k, "%.*s\n", (int)(end - line), line);
    if (k >= cap) break;
  }
  kept[k < cap ? k : cap - 1] = '\0';
}

/* A seed and a thread count fix every bit: two runs on libuv's pool with
 * two workers print the very same losses and accuracies. */
Test(cli, two_threads_are_deterministic, .timeout = 60) {
  static char out1[8192], out2[8192], err[8192];
  const char *args = "train --data datasets/sample --epochs 2 --limit-train 600 --limit-test 200 --lr 1e-3 "
                     "--train-steps 8 --threads 2 --json";
  cr_assert_eq(run(args, out1, sizeof out1, err, sizeof err), 0, "stderr: %s", err);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "stderr: %s", err);
  char a[4096], b[4096];
  keep_results(out1, a, sizeof a);
  keep_results(out2, b, sizeof b);
  cr_expect_str_eq(a, b);
  cr_expect(strstr(a, "epoch 1/2") && strstr(a, "epoch 2/2"), "kept: %s", a);
}

/* Ctrl-C in the middle of an epoch saves a checkpoint and exits 130; going
 * on with --resume (no other option: the settings travel in the model)
 * ends with the very same model file as a run that was never stopped. */
Test(cli, ctrl_c_checkpoint_resumes_to_the_same_model, .timeout = 120) {
  const char *build = getenv("EVSNN_BUILDDIR"), *src = getenv("EVSNN_SRCDIR");
  char bin[4096], out[8192], err[8192], args[1024], a[64], b[64];
  snprintf(bin, sizeof bin, "%s/evsnn", build ? build : ".");
  /* Paths of this process's own: two builds' suites may run at once. */
  snprintf(a, sizeof a, "/tmp/evsnn-cli-whole-%d.evsnn", (int)getpid());
  snprintf(b, sizeof b, "/tmp/evsnn-cli-stopped-%d.evsnn", (int)getpid());
  const char *common = "train --data datasets/sample --epochs 3 --limit-train 3000 --limit-test 200 --train-steps 10 "
                       "--threads 2";
  snprintf(args, sizeof args, "%s --out %s", common, a);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);

  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2), close(fds[0]), close(fds[1]);
    if (src && chdir(src)) _exit(127);
    freopen("/dev/null", "w", stdout);
    execl(bin, "evsnn", "train", "--data", "datasets/sample", "--epochs", "3", "--limit-train", "3000", "--limit-test",
          "200", "--train-steps", "10", "--threads", "2", "--out", b, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  /* The banner comes after the handler is installed: interrupt at once, so
   * the flag is up before the first batch ends and the run stops in epoch 1
   * whatever the machine's load (a timed interrupt could land anywhere). */
  FILE *e = fdopen(fds[0], "r");
  char line[1024];
  while (fgets(line, sizeof line, e) && strncmp(line, "evsnn train:", 12)) {}
  kill(pid, SIGINT);
  size_t n = fread(err, 1, sizeof err - 1, e);
  err[n] = '\0';
  fclose(e);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d, stderr: %s", status, err);
  cr_expect(strstr(err, "interrupted in epoch 1 after ") && strstr(err, "checkpoint saved to"), "stderr: %s", err);

  snprintf(args, sizeof args, "train --data datasets/sample --resume %s --out %s", b, b);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  char cmp[512];
  snprintf(cmp, sizeof cmp, "cmp -s %s %s", a, b);
  cr_expect_eq(system(cmp), 0, "the resumed run's model differs from the uninterrupted one");
  snprintf(args, sizeof args, "train --data datasets/sample --resume %s", b);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1, "a finished run resumed again");
  cr_expect(strstr(err, "already trained") != NULL, "stderr: %s", err);
  unlink(a), unlink(b);
}

/* The training benchmark runs the three trainers on the same batches from
 * the same start: their mean losses agree, and it prints the ratios, the
 * trace sizes and the peak memory. */
Test(cli, bench_train_compares_the_two_trainers, .timeout = 120) {
  char out[8192], err[4096];
  cr_assert_eq(run("bench --train --data datasets/sample --batches 2 --repeat 1 --steps 6", out, sizeof out, err,
                   sizeof err), 0, "stderr: %s", err);
  double le, ld, lb;
  const char *e = strstr(out, "\nevent "), *d = strstr(out, "\ndense "), *b = strstr(out, "\ndense-batch ");
  cr_assert(e && d && b, "output: %s", out);
  cr_assert_eq(sscanf(e, " event %*f %*f %lf", &le), 1, "output: %s", out);
  cr_assert_eq(sscanf(d, " dense %*f %*f %lf", &ld), 1, "output: %s", out);
  cr_assert_eq(sscanf(b, " dense-batch %*f %*f %lf", &lb), 1, "output: %s", out);
  cr_expect(fabs(le - ld) < 1e-3 && fabs(lb - ld) < 1e-3, "mean loss event %g, dense %g, batched %g", le, ld, lb);
  cr_expect(strstr(out, "faster than the dense engine") != NULL, "output: %s", out);
  cr_expect(strstr(out, "trace per sample: spike lists") != NULL, "output: %s", out);
  cr_expect(strstr(out, "max RSS") != NULL, "output: %s", out);
}

/* ---- evsnn events info / cat / convert, on the committed fixtures ---- */

/* The text fixture: 240x180, 5 events, 3 ON, t 0..13000000 us. */
Test(cli, events_info_json_fields) {
  char out[4096], err[4096];
  cr_assert_eq(run("events info tests/fixtures/events_camera_dataset.txt --json", out, sizeof out, err,
                   sizeof err), 0, "stderr: %s", err);
  static const char *want[] = {"\"format\": \"text\"", "\"width\": 240", "\"height\": 180",
                               "\"events\": 5",        "\"t_min\": 0",   "\"t_max\": 13000000",
                               "\"x_max\": 239",       "\"y_max\": 179", "\"on\": 3",
                               "\"off\": 2"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    cr_expect(strstr(out, want[i]) != NULL, "no %s in %s", want[i], out);
  cr_expect_eq(count_lines(out), 1, "one JSON object: %s", out);
  cr_expect(out[0] == '{', "%s", out);
}

Test(cli, events_cat_prints_t_x_y_p_in_file_order) {
  char out[4096], err[4096];
  cr_assert_eq(run("events cat tests/fixtures/dvs128_gesture_like.aedat", out, sizeof out, err, sizeof err),
               0, "stderr: %s", err);
  cr_expect_str_eq(out, "100 0 0 1\n150 127 5 0\n2147483647 64 127 1\n2147483653 3 4 0\n"
                        "2147483654 127 127 1\n");
  cr_assert_eq(run("events cat tests/fixtures/dvs128_gesture_like.aedat --from 150 --to 2147483653 "
                   "--crop 0,0,128,128 --downsample 2",
                   out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect_str_eq(out, "150 63 2 0\n2147483647 32 63 1\n");
}

/* AEDAT 3.1 -> ours -> text (seconds) -> ours: cat prints the same lines at
 * every step, and our file is gzip (its first two bytes 1f 8b). */
Test(cli, events_convert_round_trips) {
  char dir[] = "/tmp/evsnn-cli-ev.XXXXXX", args[1024], first[4096], out[4096], err[4096];
  cr_assert(mkdtemp(dir));
  cr_assert_eq(run("events cat tests/fixtures/dvs128_gesture_like.aedat", first, sizeof first, err, sizeof err), 0);
  snprintf(args, sizeof args, "events convert tests/fixtures/dvs128_gesture_like.aedat %s/a.evs", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(args, sizeof args, "%s/a.evs", dir);
  FILE *f = fopen(args, "rb");
  cr_assert_not_null(f);
  cr_expect(fgetc(f) == 0x1f && fgetc(f) == 0x8b);
  fclose(f);
  snprintf(args, sizeof args, "events convert %s/a.evs %s/b.txt", dir, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(args, sizeof args, "events convert %s/b.txt %s/c.evs", dir, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(args, sizeof args, "events info %s/c.evs --json", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect(strstr(out, "\"format\": \"evsnn\"") && strstr(out, "\"width\": 128"), "%s", out);
  const char *steps[] = {"a.evs", "b.txt", "c.evs"};
  for (int i = 0; i < 3; i++) {
    snprintf(args, sizeof args, "events cat %s/%s", dir, steps[i]);
    cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
    cr_expect_str_eq(out, first, "%s", steps[i]);
    snprintf(args, sizeof args, "%s/%s", dir, steps[i]);
    unlink(args);
  }
  rmdir(dir);
}

/* A cut file: the events before the fault on stdout, then one line on
 * stderr naming the file, the error and the byte; exit 1. Unknown content
 * and a missing file also exit 1; bad options exit 2. */
Test(cli, events_bad_input_messages) {
  char dir[] = "/tmp/evsnn-cli-ev.XXXXXX", path[256], args[1024], out[4096], err[4096];
  cr_assert(mkdtemp(dir));
  const char *src = getenv("EVSNN_SRCDIR");
  snprintf(path, sizeof path, "%s/tests/fixtures/dvs128_gesture_like.aedat", src ? src : ".");
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  static unsigned char buf[512];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  snprintf(path, sizeof path, "%s/cut.aedat", dir);
  f = fopen(path, "wb");
  fwrite(buf, 1, len - 4, f);
  fclose(f);
  snprintf(args, sizeof args, "events cat %s", path);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect_str_eq(out, "100 0 0 1\n150 127 5 0\n2147483647 64 127 1\n2147483653 3 4 0\n");
  cr_expect(strstr(err, path) && strstr(err, "truncated") && strstr(err, "byte 245"), "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
  snprintf(args, sizeof args, "events info %s --json", path);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "byte 245"), "stderr: %s", err);
  unlink(path);

  snprintf(path, sizeof path, "%s/junk.raw", dir);
  f = fopen(path, "wb");
  fputs("\x01\x02 these bytes are no event format", f);
  fclose(f);
  snprintf(args, sizeof args, "events info %s", path);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, path) && strstr(err, "not a file of the expected format"), "stderr: %s", err);
  unlink(path);
  rmdir(dir);

  cr_expect_eq(run("events info /nonexistent/x.aedat", out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "/nonexistent/x.aedat"), "stderr: %s", err);
  cr_expect_eq(run("events", out, sizeof out, err, sizeof err), 2);
  cr_expect_eq(run("events cat tests/fixtures/events_camera_dataset.txt --crop 1,2", out, sizeof out, err,
                   sizeof err), 2);
  cr_expect_eq(run("events info tests/fixtures/events_camera_dataset.txt --yaml", out, sizeof out, err,
                   sizeof err), 2);
}

/* The committed AEDAT 3.1 fixture converted to dir/name comes back from it
 * event for event. */
static void fixture_round_trip(const char *dir, const char *name) {
  char args[1024], first[4096], out[4096], err[4096];
  cr_assert_eq(run("events cat tests/fixtures/dvs128_gesture_like.aedat", first, sizeof first, err, sizeof err), 0);
  snprintf(args, sizeof args, "events convert tests/fixtures/dvs128_gesture_like.aedat %s/%s", dir, name);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(args, sizeof args, "events cat %s/%s", dir, name);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect_str_eq(out, first, "through %s", name);
}

/* AEDAT 3.1 out, read back by our reader: the committed fixture, and
 * events on both sides of 2^31 us (a new packet with eventTSOverflow 1);
 * time going back is refused, naming the event and the file it is in. */
Test(cli, events_convert_to_aedat31) {
  char dir[] = "/tmp/evsnn-cli-ev.XXXXXX", args[1024], out[4096], err[4096], path[256];
  cr_assert(mkdtemp(dir));
  fixture_round_trip(dir, "a.aedat");
  snprintf(args, sizeof args, "events info %s/a.aedat --json", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect(strstr(out, "\"format\": \"aedat3\", \"width\": 128, \"height\": 128"), "%s", out);

  snprintf(path, sizeof path, "%s/wrap.txt", dir);
  FILE *f = fopen(path, "w");
  fputs("1.000000 1 2 1\n2147.483000 3 4 0\n2147.484000 5 6 1\n5000.000001 32767 7 0\n", f);
  fclose(f);
  snprintf(args, sizeof args, "events convert %s %s/b.aedat", path, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(args, sizeof args, "events cat %s/b.aedat", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect_str_eq(out, "1000000 1 2 1\n2147483000 3 4 0\n2147484000 5 6 1\n5000000001 32767 7 0\n");
  f = fopen(path, "w");
  fputs("0.2 1 2 1\n0.1 3 4 0\n", f);
  fclose(f);
  snprintf(args, sizeof args, "events convert %s %s/c.aedat", path, dir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  /* The reader refuses it first (docs/event-readers.md, "Time"). */
  cr_expect(strstr(err, "wrap.txt: events out of timestamp order: event 1: t 100000 us goes back from 200000 us"),
            "stderr: %s", err);
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  cr_expect_eq(system(args), 0);
}

/* OUT.bin is N-MNIST's format: the AEDAT 3.1 fixture (t past 2^31 us, so
 * 256 overflow records) comes back from it unchanged; an event with
 * y = 240 (the overflow marker) cannot be written and says so. */
Test(cli, events_convert_to_nmnist_bin) {
  char dir[] = "/tmp/evsnn-cli-ev.XXXXXX", args[1024], out[4096], err[4096], path[256];
  cr_assert(mkdtemp(dir));
  fixture_round_trip(dir, "a.bin");
  snprintf(path, sizeof path, "%s/a.bin", dir);
  unlink(path);

  snprintf(path, sizeof path, "%s/y240.txt", dir);
  FILE *f = fopen(path, "w");
  fputs("0.1 1 2 1\n0.2 3 240 0\n", f);
  fclose(f);
  snprintf(args, sizeof args, "events convert %s %s/b.bin", path, dir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "event 1 (200000 3 240 0) does not fit N-MNIST"), "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
  unlink(path);
  snprintf(path, sizeof path, "%s/b.bin", dir);
  unlink(path);
  rmdir(dir);
}

/* evsnn nir: info on a real file (skipped without ../shared/nir), the paper
 * network through export and import bit for bit, and its errors. */
Test(cli, nir_info_export_import_and_errors, .timeout = 60) {
  char dir[] = "/tmp/evsnn-cli-nir.XXXXXX", args[1024], out[16384], err[4096], a[256], b[256], nir[256];
  cr_assert(mkdtemp(dir));
  snprintf(a, sizeof a, "%s/../shared/nir/cnn_sinabs.nir", getenv("EVSNN_SRCDIR") ? getenv("EVSNN_SRCDIR") : ".");
  if (!access(a, R_OK)) { /* run() works in the source tree */
    cr_expect_eq(run("nir info ../shared/nir/cnn_sinabs.nir", out, sizeof out, err, sizeof err), 0, "%s", err);
    cr_expect(strstr(out, "NIR 0.2.0, 15 nodes, 14 edges"), "stdout: %s", out);
    cr_expect(strstr(out, "Flatten   (8, 4, 4) -> (128)"), "stdout: %s", out);
    cr_expect(strstr(out, "evsnn runs it: yes, as 6 populations and 5 projections"), "stdout: %s", out);
  } else {
    cr_log_warn("skipped the shared NIR file: ../shared/nir is absent");
  }
  /* The paper's 784-300-300-10, thresholds and leak as trained ones have. */
  evsnn_net_t net, back;
  cr_assert_eq(evsnn_net_init(&net, (uint32_t[]){784, 300, 300, 10}, 4, 0.95f), 0);
  evsnn_net_init_params(&net, 1, EVSNN_INIT_WIDTH, (float[]){5, 3});
  snprintf(a, sizeof a, "%s/a.model", dir);
  snprintf(b, sizeof b, "%s/b.model", dir);
  snprintf(nir, sizeof nir, "%s/a.nir", dir);
  cr_assert_eq(evsnn_model_save(a, &net, NULL, NULL), 0);
  snprintf(args, sizeof args, "nir export %s --out %s", a, nir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "nir info %s", nir);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "evsnn runs it: yes, as 4 populations and 3 projections"), "stdout: %s", out);
  cr_expect(strstr(out, "dense3           LI        (10) -> (10)"), "stdout: %s", out);
  snprintf(args, sizeof args, "nir import %s --out %s", nir, b);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(out, "(dt 0.0001 s, euler; reset: v_reset of the file (zero))"), "stdout: %s", out);
  cr_expect(strstr(out, ": 784 dense300 lif[beta=0.95,"), "stdout: %s", out);
  char *meta = NULL;
  cr_assert_eq(evsnn_model_load(b, &back, &meta, NULL), 0);
  cr_expect(strstr(meta, "dt_us=100\n"), "meta: %s", meta);
  free(meta);
  cr_expect_eq(memcmp(&back.beta, &net.beta, sizeof net.beta), 0);
  for (uint32_t m = 0; m < 2; m++) cr_expect_eq(back.layer[m].threshold, net.layer[m].threshold);
  cr_expect_eq(memcmp(back.params, net.params, net.n_params * sizeof(float)), 0, "weights bit for bit");
  evsnn_net_free(&back);
  evsnn_net_free(&net);
  /* --model takes the .nir file directly, with the same result. */
  char out2[16384];
  snprintf(args, sizeof args, "test --model %s --limit 20 --steps 3", a);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "test --model %s --limit 20 --steps 3", nir);
  cr_expect_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "%s", err);
  cr_expect(strchr(out, ':') && strchr(out2, ':'), "stdout: %s", out);
  cr_expect_str_eq(strchr(out2, ':'), strchr(out, ':'), "all but the model's name");
  /* Errors: usage (2), a bad rule, a file that is not NIR, one import refuses. */
  snprintf(args, sizeof args, "nir import %s --out %s --discretisation heun", nir, b);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "expected exact or euler, got 'heun'"), "stderr: %s", err);
  cr_expect_eq(run("nir frobnicate x", out, sizeof out, err, sizeof err), 2);
  snprintf(args, sizeof args, "nir info %s", a);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "not an HDF5 file"), "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
  snprintf(args, sizeof args, "nir import %s --out %s --dt 1e-2", nir, b);
  cr_expect_eq(run(args, out, sizeof out, err, sizeof err), 1);
  cr_expect(strstr(err, "euler needs dt <= tau"), "stderr: %s", err);
  cr_expect_eq(count_lines(err), 1, "stderr: %s", err);
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  cr_expect_eq(system(args), 0);
}

/* The Sinabs N-MNIST network from ../shared/nir runs as --model on
 * recordings from `evsnn encode dvs`: far above the 10% of chance, which a
 * wrong channel order in the import (NIR's channels first, evsnn's channels
 * last) would give. Skipped without ../shared/nir. */
Test(cli, the_sinabs_nmnist_network_classifies_emulated_recordings, .timeout = 120) {
  char dir[] = "/tmp/evsnn-cli-nm.XXXXXX", args[2048], out[16384], err[4096], nir[1024];
  snprintf(nir, sizeof nir, "%s/../shared/nir/cnn_sinabs.nir", getenv("EVSNN_SRCDIR") ? getenv("EVSNN_SRCDIR") : ".");
  if (access(nir, R_OK)) {
    cr_log_warn("skipped: %s is absent", nir);
    return;
  }
  cr_assert(mkdtemp(dir));
  snprintf(args, sizeof args, "encode dvs --out %s --test --limit 20 --threads 1", dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "mkdir '%s/train'", dir); /* an events directory has both splits */
  cr_assert_eq(system(args), 0);
  snprintf(args, sizeof args, "test --model %s --data %s --steps 300", nir, dir);
  cr_assert_eq(run(args, out, sizeof out, err, sizeof err), 0, "%s", err);
  double acc = 0;
  const char *at = strstr(out, ".nir: ");
  cr_assert(at && sscanf(at + 6, "%lf%%", &acc) == 1, "stdout: %s", out);
  cr_expect_geq(acc, 70.0, "stdout: %s", out);
  /* Imported into a model file, the same network gives the same result. */
  char out2[16384];
  snprintf(args, sizeof args, "nir import %s --out %s/sinabs.model", nir, dir);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "%s", err);
  snprintf(args, sizeof args, "test --model %s/sinabs.model --data %s --steps 300", dir, dir);
  cr_assert_eq(run(args, out2, sizeof out2, err, sizeof err), 0, "%s", err);
  /* The first line, the accuracy; the sparsity line names the populations,
   * which the model file renames. */
  *strchr(out, '\n') = *strchr(out2, '\n') = '\0';
  cr_expect_str_eq(strchr(out2, ':'), strchr(out, ':'));
  snprintf(args, sizeof args, "rm -rf '%s'", dir);
  cr_expect_eq(system(args), 0);
}

/* ------------------------------------------------------------ JSON ---- */

/* A document written into memory: an object opened, members added through
 * j, closed by memdoc_close, which returns the text (the caller frees it). */
typedef struct {
  char *buf;
  size_t len;
  FILE *f;
  cli_json_t j;
} memdoc_t;

static void memdoc_open(memdoc_t *d) {
  d->buf = NULL, d->len = 0;
  d->f = open_memstream(&d->buf, &d->len);
  cr_assert(d->f);
  cli_json_start(&d->j, d->f);
  cli_json_object(&d->j, NULL);
}

static char *memdoc_close(memdoc_t *d) {
  cli_json_end(&d->j);
  fclose(d->f);
  return d->buf;
}

/* The writer's {key: value}, parsed back by jansson. */
static json_t *json_roundtrip(const char *key, const char *value, char **text) {
  memdoc_t d;
  memdoc_open(&d);
  cli_json_string(&d.j, key, value);
  char *buf = memdoc_close(&d);
  json_error_t e;
  json_t *doc = json_loads(buf, 0, &e);
  cr_assert(doc && json_object_size(doc) == 1, "%s does not parse: %s at %d", buf, e.text, e.position);
  *text = buf;
  return doc;
}

/* Quotes, backslashes, control bytes and valid UTF-8 come back as written;
 * each byte that is no part of valid UTF-8 (stray, overlong, surrogate,
 * above U+10FFFF) comes back as one U+FFFD. */
Test(cli_json, strings_survive_a_real_parser) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"plain", "plain"},
      {"q\"x\\y/z", "q\"x\\y/z"},
      {"a\nb\rc\td\x01\x1f\x7f", "a\nb\rc\td\x01\x1f\x7f"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
      {"\xff", "\xef\xbf\xbd"},
      {"a\xc3", "a\xef\xbf\xbd"},                              /* cut at the end */
      {"\xc3(", "\xef\xbf\xbd("},                              /* a lead byte, then no continuation */
      {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                /* overlong '/' */
      {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a UTF-16 surrogate */
      {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* above U+10FFFF */
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text;
    json_t *doc = json_roundtrip("k", cases[i].in, &text);
    const char *got = json_string_value(json_object_get(doc, "k"));
    cr_expect(got && !strcmp(got, cases[i].out), "case %zu: %s", i, text);
    json_decref(doc), free(text);
    /* Keys go through the same escaping. */
    doc = json_roundtrip(cases[i].in, "v", &text);
    cr_expect(json_is_string(json_object_get(doc, cases[i].out)), "key case %zu: %s", i, text);
    json_decref(doc), free(text);
  }
}

/* Nesting, commas, every kind of value, and numbers printed as the format
 * says; what JSON cannot hold (NaN, infinities) is null. */
Test(cli_json, structure_and_numbers) {
  memdoc_t d;
  memdoc_open(&d);
  cli_json_t *j = &d.j;
  cli_json_number(j, "acc", "%.6f", 0.5);
  cli_json_array(j, "empty");
  cli_json_end(j);
  cli_json_array(j, "pairs");
  for (int i = 0; i < 2; i++) {
    cli_json_array(j, NULL);
    cli_json_int(j, NULL, -i);
    cli_json_uint(j, NULL, UINT64_MAX);
    cli_json_end(j);
  }
  cli_json_end(j);
  cli_json_object(j, "o");
  cli_json_bool(j, "t", true);
  cli_json_bool(j, "f", false);
  cli_json_number(j, "nan", "%g", NAN);
  cli_json_number(j, "inf", "%.1f", -INFINITY);
  cli_json_number(j, "big", "%g", 1e6);
  cli_json_end(j);
  char *buf = memdoc_close(&d);
  cr_expect_str_eq(buf, "{\"acc\": 0.500000, \"empty\": [], \"pairs\": [[0, 18446744073709551615], "
                        "[-1, 18446744073709551615]], \"o\": {\"t\": true, \"f\": false, \"nan\": null, "
                        "\"inf\": null, \"big\": 1e+06}}\n");
  json_error_t e;
  json_t *doc = json_loads(buf, JSON_DECODE_INT_AS_REAL, &e);
  cr_expect(doc, "%s: %s", buf, e.text);
  cr_expect(json_is_null(json_object_get(json_object_get(doc, "o"), "nan")));
  cr_expect_float_eq(json_number_value(json_object_get(json_object_get(doc, "o"), "big")), 1e6, 1e-9);
  json_decref(doc);
  free(buf);
}

/* The last line of a command's stdout, parsed; fails the test if it is not
 * one JSON object. */
static json_t *last_json_line(char *out) {
  char *end = out + strlen(out);
  while (end > out && end[-1] == '\n') *--end = '\0';
  char *last = strrchr(out, '\n');
  last = last ? last + 1 : out;
  json_error_t e;
  json_t *doc = json_loads(last, 0, &e);
  cr_assert(doc && json_is_object(doc), "not one JSON object: %s (%s at %d)", last, e.text, e.position);
  return doc;
}

/* Runs `evsnn ARGS`, which must succeed, and parses its last line. */
static json_t *run_json(const char *args, char *out, size_t cap) {
  char err[8192];
  cr_assert_eq(run(args, out, cap, err, sizeof err), 0, "%s: %s", args, err);
  return last_json_line(out);
}

static void expect_string(json_t *doc, const char *key, const char *want) {
  const char *got = json_string_value(json_object_get(doc, key));
  cr_expect(got && !strcmp(got, want), "%s: got '%s', want '%s'", key, got ? got : "(none)", want);
}

/* Every command's --json, and train's JSON-lines log, with every file in a
 * directory whose name holds a quote, a backslash, a newline, valid UTF-8
 * and a byte that is no UTF-8: each output parses, and the paths in it come
 * back as written (the stray byte as U+FFFD). */
Test(cli_json, every_command_parses_with_a_hostile_path, .timeout = 120) {
  char base[] = "/tmp/evsnn-json.XXXXXX", dir[512], shown[512], path[1024], args[2048];
  static char out[65536];
  cr_assert(mkdtemp(base));
  snprintf(dir, sizeof dir, "%s/q\"x\\y\nz caf\xc3\xa9 \xff", base);
  snprintf(shown, sizeof shown, "%s/q\"x\\y\nz caf\xc3\xa9 \xef\xbf\xbd", base);
  cr_assert_eq(mkdir(dir, 0700), 0);
  /* The shell expands "$H" without reading what is in it. */
  cr_assert_eq(setenv("H", dir, 1), 0);

  json_t *doc = run_json("train --data datasets/sample --epochs 1 --limit-train 256 --limit-test 50 --train-steps 4 "
                         "--out \"$H/m.evsnn\" --log \"$H/log.jsonl\" --json", out, sizeof out);
  expect_string(doc, "preset", "bondarev2021");
  json_decref(doc);
  snprintf(path, sizeof path, "%s/log.jsonl", dir);
  json_error_t e;
  doc = json_load_file(path, JSON_DISABLE_EOF_CHECK, &e);
  cr_expect(doc && json_integer_value(json_object_get(doc, "epoch")) == 1, "log: %s", e.text);
  json_decref(doc);

  /* Both engines count synops as spikes delivered x fan-out (784-300-300-10). */
  static const char *const engines[] = {"event", "dense"};
  for (int en = 0; en < 2; en++) {
    snprintf(args, sizeof args, "test --model \"$H/m.evsnn\" --data datasets/sample --limit 20 --engine %s --json",
             engines[en]);
    doc = run_json(args, out, sizeof out);
    json_t *sp = json_object_get(doc, "spikes");
    double want = 300.0 * (double)json_integer_value(json_array_get(sp, 0)) +
                  300.0 * (double)json_integer_value(json_array_get(sp, 1)) +
                  10.0 * (double)json_integer_value(json_array_get(sp, 2));
    cr_expect(want > 0 && json_number_value(json_object_get(doc, "synops")) == want, "%s engine: %s", engines[en], out);
    cr_expect_eq(json_number_value(json_object_get(doc, "dense_macs")), 20.0 * 5 * (784 * 300 + 300 * 300 + 300 * 10));
    json_decref(doc);
  }

  char model[1024];
  snprintf(model, sizeof model, "%s/m.evsnn", shown);
  doc = run_json("stats --model \"$H/m.evsnn\" --data datasets/sample --limit 10 --json", out, sizeof out);
  expect_string(doc, "model", model);
  json_decref(doc);

  doc = run_json("encode dvs --data datasets/sample --test --limit 2 --out \"$H/dvs\" --json", out, sizeof out);
  cr_expect_eq(json_integer_value(json_object_get(doc, "images")), 2);
  json_decref(doc);
  doc = run_json("events info \"$H/dvs/test/00000.evs.gz\" --json", out, sizeof out);
  expect_string(doc, "format", "evsnn");
  json_decref(doc);

  char file[1024];
  snprintf(file, sizeof file, "%s/dvs/test/00000.evs.gz", shown);
  doc = run_json("stats --model \"$H/m.evsnn\" \"$H/dvs/test/00000.evs.gz\" --json", out, sizeof out);
  expect_string(doc, "mode", "continuous");
  json_decref(doc);
  doc = run_json("replay --model \"$H/m.evsnn\" \"$H/dvs/test/00000.evs.gz\" --speed 0 --json", out, sizeof out);
  expect_string(doc, "file", file);
  cr_expect(json_is_array(json_object_get(doc, "decisions")));
  json_decref(doc);

  /* send, against a server on loopback started by the same shell. */
  snprintf(args, sizeof args,
           "serve --model \"$H/m.evsnn\" --listen 127.0.0.1:0 >\"$H/serve.out\" 2>/dev/null & pid=$!; "
           "for i in $(seq 100); do grep -q listening \"$H/serve.out\" && break; sleep 0.05; done; "
           "port=$(sed -n 's/^listening on 127.0.0.1://p' \"$H/serve.out\"); "
           "\"$EVSNN_BUILDDIR/evsnn\" send \"$H/dvs/test/00000.evs.gz\" --to 127.0.0.1:$port --json; rc=$?; "
           "kill $pid; wait $pid; exit $rc");
  doc = run_json(args, out, sizeof out);
  const char *digest = json_string_value(json_object_get(doc, "digest"));
  cr_expect(digest && strlen(digest) == 16, "%s", out);
  json_decref(doc);

  snprintf(args, sizeof args, "rm -rf '%s'", base);
  cr_expect_eq(system(args), 0);
}

/* ------------------------------------------------------- man page ---- */

/* The options named in text ("--name" not inside a longer word), as one
 * string of " --name " entries; roff's "\-" counts as "-", its font
 * changes ("\fR") as nothing. */
static void options_in(const char *text, size_t len, char *set, size_t cap) {
  set[0] = '\0';
  char plain[65536];
  size_t n = 0;
  for (size_t i = 0; i < len && n + 1 < sizeof plain; i++) {
    if (text[i] != '\\') plain[n++] = text[i];
    else if (i + 1 < len && text[i + 1] == 'f') i += 2; /* a font change, \fR */
  }
  plain[n] = '\0';
  for (const char *p = plain; (p = strstr(p, "--"));) {
    int word = p > plain && (isalnum((unsigned char)p[-1]) || p[-1] == '-');
    const char *q = p + 2;
    while (islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '-') q++;
    while (q > p + 2 && q[-1] == '-') q--;
    char name[64];
    if (!word && q > p + 2 && islower((unsigned char)p[2]) && (size_t)(q - p) < sizeof name - 2) {
      snprintf(name, sizeof name, " %.*s ", (int)(q - p), p);
      if (!strstr(set, name) && strcmp(name, " --help ")) strncat(set, name, cap - strlen(set) - 1);
    }
    p = q > p + 2 ? q : p + 2;
  }
}

/* Each entry of a that is not in b, into missing. */
static void missing_from(const char *a, const char *b, char *missing, size_t cap) {
  missing[0] = '\0';
  for (const char *p = a; (p = strchr(p, ' ')) && p[1];) {
    const char *q = strchr(p + 1, ' ');
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(q - p + 1), p);
    if (!strstr(b, name)) strncat(missing, name, cap - strlen(missing) - 1);
    p = q;
  }
}

/* man/evsnn.1 has a section (.SS) per subcommand that `evsnn --help`
 * lists, and no other; each names exactly the options `evsnn CMD --help`
 * names. */
Test(cli, man_page_and_help_agree) {
  const char *src = getenv("EVSNN_SRCDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/man/evsnn.1", src ? src : ".");
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s: cannot open", path);
  static char man[65536], out[65536], err[4096];
  size_t len = fread(man, 1, sizeof man - 1, f);
  man[len] = '\0';
  fclose(f);
  cr_assert_eq(run("--help", out, sizeof out, err, sizeof err), 0);
  int commands = 0;
  for (const char *line = strchr(out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
    char cmd[32], head[64];
    if (line[1] != ' ' || sscanf(line + 1, " %31s", cmd) != 1) continue; /* the commands are indented */
    commands++;
    snprintf(head, sizeof head, "\n.SS %s\n", cmd);
    const char *sec = strstr(man, head);
    cr_expect(sec, "man page: no section for %s", cmd);
    if (!sec) continue;
    sec += strlen(head);
    const char *end = sec;
    while ((end = strstr(end, "\n.S")) && end[3] != 'S' && end[3] != 'H') end++;
    if (!end) end = man + len;
    char args[64], from_help[4096], from_man[4096], missing[4096];
    snprintf(args, sizeof args, "%s --help", cmd);
    cr_assert_eq(run(args, out + 32768, 32768, err, sizeof err), 0, "%s", args);
    options_in(out + 32768, strlen(out + 32768), from_help, sizeof from_help);
    options_in(sec, (size_t)(end - sec), from_man, sizeof from_man);
    cr_expect(strlen(from_help) > 4, "%s --help names no option", cmd);
    missing_from(from_help, from_man, missing, sizeof missing);
    cr_expect_str_empty(missing, "%s: in --help, not in the man page:%s", cmd, missing);
    missing_from(from_man, from_help, missing, sizeof missing);
    cr_expect_str_empty(missing, "%s: in the man page, not in --help:%s", cmd, missing);
  }
  int sections = 0;
  for (const char *p = man; (p = strstr(p, "\n.SS ")); p++) sections++;
  cr_expect_eq(sections, commands, "%d man sections for %d commands", sections, commands);
  cr_expect_geq(commands, 10);
}
