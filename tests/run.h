/* For the tests that run the built evsnn as a user does: one way to run a
 * command line and capture what it printed. */
#ifndef EVSNN_TESTS_RUN_H
#define EVSNN_TESTS_RUN_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs the shell command line LINE in the source tree, with $E naming the
 * built evsnn; stdout goes into out and stderr into err (each cut to its
 * capacity). Returns the exit status, or -1 after a signal. */
static inline int run_line(const char *line, char *out, size_t out_cap, char *err, size_t err_cap) {
  const char *build = getenv("EVSNN_BUILDDIR"), *src = getenv("EVSNN_SRCDIR");
  char cmd[8192], eo[] = "/tmp/evsnn-test-err.XXXXXX";
  int fd = mkstemp(eo);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof cmd, "cd '%s' && E='%s/evsnn' && (%s) 2>'%s'", src ? src : ".", build ? build : ".", line, eo);
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  size_t n = fread(out, 1, out_cap - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  FILE *e = fopen(eo, "r");
  n = e ? fread(err, 1, err_cap - 1, e) : 0;
  err[n] = '\0';
  if (e) fclose(e);
  unlink(eo);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs `evsnn ARGS` in the source tree (for datasets/sample), as run_line. */
static inline int run(const char *args, char *out, size_t out_cap, char *err, size_t err_cap) {
  char line[8192];
  snprintf(line, sizeof line, "\"$E\" %s", args);
  return run_line(line, out, out_cap, err, err_cap);
}

#endif
