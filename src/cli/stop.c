/* Stopping a long run on SIGINT or SIGTERM (train, stats, replay). The
 * handler only records the signal; the command's loop polls it between
 * units of work that each take bounded time (a batch, a chunk of events),
 * then finishes as it would at the end of its input (train saves its
 * checkpoint) and exits with 128 + the signal's number. A second signal
 * takes the default action, so a stuck run can still be ended at once. */
#include <signal.h>
#include <string.h>

#include "cli/cli.h"

static volatile sig_atomic_t caught;

static void on_stop(int sig) {
  caught = sig;
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

void cli_stop_catch(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  caught = 0;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int cli_stop_signal(void) { return caught; }

void cli_stop_release(void) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}
