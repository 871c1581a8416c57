/* evsnn bench: times the engines against each other in one run. */
#include "cli/cli.h"

int evsnn_cmd_bench(int argc, char **argv) {
  return cli_usage("bench: not built yet");
}
