/* evsnn train under mpirun (src/dist), run as a user runs it: the model of
 * N ranks is byte for byte the one of one process with as many shares,
 * rank 0 alone prints and logs, a checkpoint resumes to the uninterrupted
 * model, and a data mismatch, a killed rank and a hung rank each end every
 * rank with a clear error, no model file left behind. Skipped in a build
 * without MPI.
 *
 * The mpirun line works in a container as root without ssh: plm isolated
 * launches on this host only, btl self,vader keeps to shared memory, and
 * copying through it (not process_vm_readv, which containers often deny)
 * needs no ptrace rights (docs/distributed.md). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define MPIRUN                                                                                                \
  "mpirun --allow-run-as-root --oversubscribe --mca plm isolated --mca btl self,vader "                      \
  "--mca btl_vader_single_copy_mechanism none"

/* A small run on the committed sample: 640 images, 10 batches of 64. */
#define SMALL "train --data datasets/sample --epochs 1 --limit-train 640 --limit-test 100 --train-steps 6"
/* Long enough (tens of batches) for a signal to land in the middle. */
#define LONG "train --data datasets/sample --epochs 3 --limit-train 3000 --limit-test 100 --train-steps 10"

static void need_mpi(void) {
  const char *have = getenv("EVSNN_HAVE_MPI");
  if (!have || strcmp(have, "yes")) cr_skip_test("this build has no MPI (configure found no ompi-c)");
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  /* Under LeakSanitizer, Open MPI's own leftovers are not evsnn's; full
   * stacks, so that they show the libraries they come from. */
  const char *src = getenv("EVSNN_SRCDIR");
  char lsan[4200];
  snprintf(lsan, sizeof lsan, "suppressions=%s/tests/lsan-mpi.supp:print_suppressions=0", src ? src : ".");
  setenv("LSAN_OPTIONS", lsan, 1);
  setenv("ASAN_OPTIONS", "fast_unwind_on_malloc=0", 1);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
  return n;
}

static int same_file(const char *a, const char *b) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
  return system(cmd) == 0;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

/* N ranks with one thread each against one process with N threads: the
 * same model file; one epoch line, one JSON summary and a two-line log. */
static void matches_one_process(int ranks) {
  static char out[16384], err[16384];
  char line[2048], one[64], many[64], log[64];
  snprintf(one, sizeof one, "/tmp/evsnn-mpi-one-%d.evsnn", (int)getpid());
  snprintf(many, sizeof many, "/tmp/evsnn-mpi-many-%d.evsnn", (int)getpid());
  snprintf(log, sizeof log, "/tmp/evsnn-mpi-log-%d.csv", (int)getpid());
  snprintf(line, sizeof line, "$E " SMALL " --threads %d --out %s", ranks, one);
  cr_assert_eq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  snprintf(line, sizeof line, MPIRUN " -np %d $E " SMALL " --threads 1 --out %s --log %s --json", ranks, many, log);
  cr_assert_eq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect(same_file(one, many), "%d ranks x 1 thread and 1 process x %d threads wrote different models", ranks, ranks);
  cr_expect_eq(count(out, "epoch 1/1"), 1, "stdout: %s", out);
  cr_expect_eq(count(out, "{\"preset\""), 1, "stdout: %s", out);
  cr_expect_eq(count(err, "evsnn train:"), 1, "stderr: %s", err);
  char banner[32];
  snprintf(banner, sizeof banner, "%d ranks x 1 thread(s)", ranks);
  cr_expect(strstr(err, banner), "stderr: %s", err);
  FILE *f = fopen(log, "r");
  cr_assert(f, "no log %s", log);
  size_t n = fread(out, 1, sizeof out - 1, f);
  out[n] = '\0';
  fclose(f);
  cr_expect_eq(count(out, "\n"), 2, "log: %s", out);
  cr_expect(!strncmp(out, "epoch,", 6), "log: %s", out);
  unlink(one), unlink(many), unlink(log);
}

Test(mpi, two_ranks_write_the_model_of_two_threads, .timeout = 120) {
  need_mpi();
  matches_one_process(2);
}

Test(mpi, three_ranks_write_the_model_of_three_threads, .timeout = 120) {
  need_mpi();
  matches_one_process(3);
}

/* bench --train under mpirun checks the two layouts' weights agree before
 * it prints their speeds and the reduction's cost. */
Test(mpi, bench_train_compares_ranks_with_threads, .timeout = 120) {
  need_mpi();
  static char out[16384], err[16384];
  cr_assert_eq(run_line(MPIRUN " -np 2 $E bench --train --data datasets/sample --batches 2 --repeat 1 --steps 6 --threads 1",
                  out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect(strstr(out, "\n2 ranks x 1 ") && strstr(out, "\n1 rank x 2 "), "stdout: %s", out);
  cr_expect(strstr(out, "the same weights, bit for bit"), "stdout: %s", out);
  cr_expect_eq(count(out, "evsnn bench --train:"), 1, "stdout: %s", out);
  unsigned long long bytes = 0;
  const char *row = strstr(out, "\n2 ranks x 1 ");
  cr_assert(row && sscanf(row, " 2 ranks x 1 %*f %*f %*f %llu", &bytes) == 1, "stdout: %s", out);
  cr_expect(bytes >= 2 * 4 * 328200ull, "bytes per batch %llu: less than the gradient in and out", bytes);
}

/* mpirun with its stderr on a pipe; returns its pid, *err_fd the pipe. */
static pid_t start(const char *args, int *err_fd) {
  const char *build = getenv("EVSNN_BUILDDIR"), *src = getenv("EVSNN_SRCDIR");
  char line[4096];
  snprintf(line, sizeof line, "exec " MPIRUN " %s", args);
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2), close(fds[0]), close(fds[1]);
    if (src && chdir(src)) _exit(127);
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    char bin[4096];
    snprintf(bin, sizeof bin, "%s/evsnn", build ? build : ".");
    setenv("E", bin, 1);
    execl("/bin/sh", "sh", "-c", line, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  *err_fd = fds[0];
  return pid;
}

/* Reads stderr up to the banner: the signal handlers are in place and the
 * ranks have agreed on the data. */
static void wait_banner(FILE *e) {
  char line[2048];
  while (fgets(line, sizeof line, e) && strncmp(line, "evsnn train:", 12)) {}
}

/* The rank-r child of mpirun (its environment says its rank), or -1. */
static pid_t rank_pid(pid_t mpirun, int r) {
  char want[64];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", r);
  DIR *proc = opendir("/proc");
  cr_assert(proc);
  pid_t found = -1;
  for (struct dirent *de; found < 0 && (de = readdir(proc));) {
    pid_t pid = (pid_t)atoi(de->d_name);
    if (pid <= 0) continue;
    char path[64];
    static char env[1 << 17];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    int ppid = 0;
    if (!f) continue;
    if (fscanf(f, "%*d %*s %*c %d", &ppid) != 1) ppid = 0;
    fclose(f);
    if (ppid != mpirun) continue;
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    if (!(f = fopen(path, "r"))) continue;
    /* NUL-separated KEY=VALUE strings, read whole. */
    size_t n = fread(env, 1, sizeof env - 1, f);
    env[n] = '\0';
    for (size_t i = 0; found < 0 && i < n; i += strlen(env + i) + 1)
      if (!strcmp(env + i, want)) found = pid;
    fclose(f);
  }
  closedir(proc);
  return found;
}

/* Waits at most `bound` seconds for mpirun; kills it if it overstays.
 * Returns its exit status (-1 for a signal), *took the seconds waited. */
static int finish(pid_t pid, FILE *e, char *err, size_t cap, double bound, double *took) {
  size_t n = fread(err, 1, cap - 1, e); /* to the end: every rank gone */
  err[n] = '\0';
  fclose(e);
  double t0 = now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (now() - t0 > bound) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(20000);
  }
  *took = now() - t0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A stop request stops every rank after the same batch with one
 * checkpoint; --resume on as many ranks ends with the uninterrupted run's
 * model, byte for byte. Two ways: SIGTERM to rank 1 alone (a scheduler's
 * signal may reach the ranks at different times; the ranks agree), and
 * SIGUSR1 at mpirun, which passes it on to every rank. (Ctrl-C at mpirun
 * works too, but mpirun sends SIGKILL a second after its SIGTERM: too
 * tight a deadline for a test on a loaded machine; docs/distributed.md.) */
Test(mpi, a_stop_request_checkpoints_and_resumes_to_the_same_model, .timeout = 240) {
  need_mpi();
  static char out[16384], err[16384];
  char line[2048], whole[64], stopped[64];
  snprintf(whole, sizeof whole, "/tmp/evsnn-mpi-whole-%d.evsnn", (int)getpid());
  snprintf(stopped, sizeof stopped, "/tmp/evsnn-mpi-stopped-%d.evsnn", (int)getpid());
  snprintf(line, sizeof line, MPIRUN " -np 2 $E " LONG " --epochs 3 --limit-train 1280 --threads 1 --out %s", whole);
  cr_assert_eq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  for (int way = 0; way < 2; way++) {
    int fd;
    unlink(stopped);
    snprintf(line, sizeof line, "-np 2 $E " LONG " --epochs 3 --limit-train 1280 --threads 1 --out %s", stopped);
    pid_t pid = start(line, &fd), victim = -1;
    FILE *e = fdopen(fd, "r");
    wait_banner(e);
    if (way == 0) {
      for (int tries = 0; victim < 0 && tries < 200; tries++)
        if ((victim = rank_pid(pid, 1)) < 0) usleep(10000);
      cr_assert(victim > 0, "no rank 1 under mpirun %d", (int)pid);
      kill(victim, SIGTERM);
    } else {
      kill(pid, SIGUSR1);
    }
    double took;
    int rc = finish(pid, e, err, sizeof err, 60, &took);
    cr_expect_neq(rc, 0, "mpirun's exit status after a stop");
    /* Rank 0 alone says so, mid-epoch (a checkpoint) or, if the signal
     * came late in an epoch, after it (the model saved after the epoch). */
    cr_assert_eq(count(err, "evsnn: interrupted "), 1, "the run was not stopped, or not once; stderr: %s", err);
    if (way == 0) cr_expect(strstr(err, "evsnn: interrupted in epoch 1 after "), "stderr: %s", err);
    snprintf(line, sizeof line, MPIRUN " -np 2 $E train --data datasets/sample --resume %s --out %s", stopped, stopped);
    cr_assert_eq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
    cr_expect(!strstr(err, "NOTE: the checkpoint split"), "stderr: %s", err);
    cr_expect(same_file(whole, stopped), "%s: the resumed run's model differs from the uninterrupted one",
              way ? "SIGUSR1 at mpirun" : "SIGTERM to rank 1");
  }
  unlink(whole), unlink(stopped);
}

/* Rank 1 reads other training images and labels: every rank stops before
 * the first batch, rank 1 naming itself and the files; nothing is saved. */
Test(mpi, a_data_mismatch_stops_every_rank_naming_the_rank_and_file, .timeout = 120) {
  need_mpi();
  static char out[16384], err[16384];
  char dir[64], line[4096], model[128];
  snprintf(dir, sizeof dir, "/tmp/evsnn-mpi-data-%d", (int)getpid());
  snprintf(model, sizeof model, "%s/model.evsnn", dir);
  /* Rank 1's set: the sample's test images standing in for its training ones. */
  snprintf(line, sizeof line, "mkdir -p %s && cp datasets/sample/t10k-* %s/ && cp %s/t10k-images-idx3-ubyte.gz "
           "%s/train-images-idx3-ubyte.gz && cp %s/t10k-labels-idx1-ubyte.gz %s/train-labels-idx1-ubyte.gz",
           dir, dir, dir, dir, dir, dir);
  cr_assert_eq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  double t0 = now();
  snprintf(line, sizeof line, MPIRUN " -np 1 $E " SMALL " --threads 1 --out %s : -np 1 $E " SMALL
           " --threads 1 --out %s --data %s", model, model, dir);
  int rc = run_line(line, out, sizeof out, err, sizeof err);
  cr_expect_neq(rc, 0, "stderr: %s", err);
  cr_expect(now() - t0 < 60, "took %.0f s", now() - t0);
  char want[256];
  snprintf(want, sizeof want, "evsnn: rank 1: %s/train-images-idx3-ubyte: the images differ from rank 0's", dir);
  cr_expect(strstr(err, want), "stderr: %s", err);
  snprintf(want, sizeof want, "evsnn: rank 1: %s/train-labels-idx1-ubyte: the labels differ from rank 0's", dir);
  cr_expect(strstr(err, want), "stderr: %s", err);
  cr_expect(!strstr(err, "rank 0: "), "rank 0 agrees with itself; stderr: %s", err);
  cr_expect(!exists(model), "a model was saved");
  /* Settings too: a different seed on rank 1. */
  snprintf(line, sizeof line, MPIRUN " -np 1 $E " SMALL " --threads 1 : -np 1 $E " SMALL " --threads 1 --seed 7");
  cr_expect_neq(run_line(line, out, sizeof out, err, sizeof err), 0, "stderr: %s", err);
  cr_expect(strstr(err, "evsnn: rank 1: the command line: the settings differ from rank 0's"), "stderr: %s", err);
  snprintf(line, sizeof line, "rm -rf %s", dir);
  run_line(line, out, sizeof out, err, sizeof err);
}

/* Stops rank 1 with sig once training runs; the run must end non-zero
 * within a bound, with no model file (none is due before epoch 1 ends). */
static void lose_rank_1(int sig, const char *extra, const char *expect) {
  static char err[16384];
  char line[2048], model[64];
  snprintf(model, sizeof model, "/tmp/evsnn-mpi-lost-%d.evsnn", (int)getpid());
  unlink(model);
  int fd;
  snprintf(line, sizeof line, "-np 2 $E " LONG " --threads 1 --out %s %s", model, extra);
  pid_t pid = start(line, &fd);
  FILE *e = fdopen(fd, "r");
  wait_banner(e);
  pid_t victim = -1;
  for (int tries = 0; victim < 0 && tries < 200; tries++)
    if ((victim = rank_pid(pid, 1)) < 0) usleep(10000);
  cr_assert(victim > 0, "no rank 1 under mpirun %d", (int)pid);
  kill(victim, sig);
  double took;
  int rc = finish(pid, e, err, sizeof err, 60, &took);
  if (sig == SIGSTOP) kill(victim, SIGKILL); /* gone already, unless mpirun failed to end it */
  cr_expect(rc > 0, "mpirun exit status %d; stderr: %s", rc, err);
  cr_expect(took < 60, "took %.0f s", took);
  cr_expect(strstr(err, expect), "stderr: %s", err);
  cr_expect(!exists(model), "a model file was left: %s", model);
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s.tmp", model);
  cr_expect(!exists(tmp), "a partial model file was left: %s", tmp);
  unlink(model), unlink(tmp);
}

Test(mpi, a_killed_rank_ends_the_run_with_an_error, .timeout = 120) {
  need_mpi();
  lose_rank_1(SIGKILL, "", "rank 1");
}

/* A rank that hangs (stopped: alive, but silent) is what mpirun cannot
 * see; the others give up after --mpi-timeout. */
Test(mpi, a_hung_rank_times_out, .timeout = 120) {
  need_mpi();
  lose_rank_1(SIGSTOP, "--mpi-timeout 2", "no word from the other ranks for 2 s");
}

/* In either build: --mpi-timeout takes seconds, 1 to a day. */
Test(mpi, a_bad_timeout_is_a_usage_error) {
  static char out[4096], err[4096];
  cr_expect_eq(run("train --mpi-timeout 0", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--mpi-timeout: expected 1 to 86400 seconds"), "stderr: %s", err);
  cr_expect_eq(run("train --mpi-timeout soon", out, sizeof out, err, sizeof err), 2);
  cr_expect(strstr(err, "--mpi-timeout"), "stderr: %s", err);
}
