/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Subcommands. Each parses its own flags and returns the process exit code:
 * 0 success, 1 failure, 2 usage error. */
#ifndef ODTRACE_CMD_H
#define ODTRACE_CMD_H

int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif
