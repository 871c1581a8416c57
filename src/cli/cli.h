/* Shared by the CLI's subcommand files: one function per subcommand and the
 * few helpers they all use to report errors the same way. */
#ifndef EVSNN_CLI_H
#define EVSNN_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Each subcommand: argv[0] is the subcommand's name; returns the exit code. */
int evsnn_cmd_bench(int argc, char **argv);
int evsnn_cmd_train(int argc, char **argv);
int evsnn_cmd_test(int argc, char **argv);
int evsnn_cmd_events(int argc, char **argv);

/* Prints "evsnn: <what>: <message>[: <detail>]" on stderr for a library
 * error code and returns the exit status 1, so `return cli_fail(...)`. */
int cli_fail(int err, const char *what);
/* Prints "evsnn: <formatted>" on stderr, returns 2 (usage errors). */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option parsing helpers: strict number parsing with a clear error. */
bool cli_parse_long(const char *opt, const char *s, long min, long max, long *out);
bool cli_parse_double(const char *opt, const char *s, double *out);

#endif
