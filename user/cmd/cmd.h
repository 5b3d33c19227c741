/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Subcommands. Each parses its own flags and returns the process exit code,
 * by one rule (README "Exit codes"): 0 success; 2 for what the user wrote
 * wrong, said as "odtrace: error: WHAT" with the command's usage after it
 * (a config file's mistake names the file and line instead); 1 for what
 * failed at run time, "odtrace: error: WHAT" and no usage.
 */
#ifndef ODTRACE_CMD_H
#define ODTRACE_CMD_H

int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* After the complaint: usage on stderr, and 2. */
int cmd__usage_error(const char *usage);

#endif
