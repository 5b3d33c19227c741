/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Every metric name the agent exports: the contract with dashboards, alerts
 * and stores (README, "Metrics"). Code that writes or reads a metric (a
 * family, top, the reports) names it by these constants, never by a string
 * of its own, so a rename is one line and a typo does not compile.
 */
#ifndef ODTRACE_NAMES_H
#define ODTRACE_NAMES_H

/* PostgreSQL statements (pg, and net for side="client") */
#define M_PG_QUERY_DURATION_SECONDS              "odtrace_pg_query_duration_seconds"
#define M_PG_QUERY_ERRORS_TOTAL                  "odtrace_pg_query_errors_total"
#define M_PG_SLOW_STATEMENT_SECONDS_TOTAL        "odtrace_pg_slow_statement_seconds_total"
#define M_PG_SLOW_STATEMENTS_TOTAL               "odtrace_pg_slow_statements_total"

/* PostgreSQL connections (pg) */
#define M_PG_BACKENDS                            "odtrace_pg_backends"
#define M_PG_IDLE_IN_TRANSACTION_MAX_SECONDS     "odtrace_pg_idle_in_transaction_max_seconds"

/* PostgreSQL locks (lock) */
#define M_PG_DEADLOCKS_TOTAL                     "odtrace_pg_deadlocks_total"
#define M_PG_LOCK_WAIT_DURATION_SECONDS          "odtrace_pg_lock_wait_duration_seconds"
#define M_PG_LOCK_WAIT_ERRORS_TOTAL              "odtrace_pg_lock_wait_errors_total"
#define M_PG_LOCK_WAIT_IN_PROGRESS_MAX_SECONDS   "odtrace_pg_lock_wait_in_progress_max_seconds"
#define M_PG_LOCK_WAIT_RELATION_SECONDS_TOTAL    "odtrace_pg_lock_wait_relation_seconds_total"
#define M_PG_LOCK_WAIT_RELATION_WAITS_TOTAL      "odtrace_pg_lock_wait_relation_waits_total"
#define M_PG_LOCK_WAITS_IN_PROGRESS              "odtrace_pg_lock_waits_in_progress"
#define M_PG_LWLOCK_WAIT_DURATION_SECONDS        "odtrace_pg_lwlock_wait_duration_seconds"

/* Syscalls and workers (sys) */
#define M_SYSCALL_DURATION_SECONDS               "odtrace_syscall_duration_seconds"
#define M_SYSCALL_ERRORS_TOTAL                   "odtrace_syscall_errors_total"
#define M_WORKER_BUSY_RATIO                      "odtrace_worker_busy_ratio"
#define M_WORKER_BUSY_SECONDS_TOTAL              "odtrace_worker_busy_seconds_total"
#define M_WORKER_IDLE_SECONDS_TOTAL              "odtrace_worker_idle_seconds_total"

/* Run queue (runq) */
#define M_CPU_THROTTLED_SECONDS_TOTAL            "odtrace_cpu_throttled_seconds_total"
#define M_RUNQ_LATENCY_SECONDS                   "odtrace_runq_latency_seconds"

/* Sockets (net) */
#define M_HTTP_REQUEST_DURATION_SECONDS          "odtrace_http_request_duration_seconds"
#define M_NET_REQUEST_DURATION_SECONDS           "odtrace_net_request_duration_seconds"
#define M_REDIS_REQUEST_DURATION_SECONDS         "odtrace_redis_request_duration_seconds"
#define M_TCP_CONNECT_DURATION_SECONDS           "odtrace_tcp_connect_duration_seconds"
#define M_TCP_CONNECTION_DURATION_SECONDS        "odtrace_tcp_connection_duration_seconds"
#define M_TCP_RETRANSMITS_TOTAL                  "odtrace_tcp_retransmits_total"
#define M_TCP_RTT_SECONDS                        "odtrace_tcp_rtt_seconds"

/* Process incidents (events) */
#define M_PROCESS_EXITS_TOTAL                    "odtrace_process_exits_total"
#define M_PROCESS_STARTS_TOTAL                   "odtrace_process_starts_total"
#define M_RELEASE_INFO                           "odtrace_release_info"
#define M_RELEASES_TOTAL                         "odtrace_releases_total"

/* The agent itself */
#define M_BPF_RUN_TIME_SECONDS_TOTAL             "odtrace_bpf_run_time_seconds_total"
#define M_BPF_RUNS_TOTAL                         "odtrace_bpf_runs_total"
#define M_BUILD_INFO                             "odtrace_build_info"
#define M_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS "odtrace_config_last_reload_success_timestamp_seconds"
#define M_CONFIG_LAST_RELOAD_SUCCESSFUL          "odtrace_config_last_reload_successful"
#define M_CONFIG_RELOADS_TOTAL                   "odtrace_config_reloads_total"
#define M_DROPPED_TOTAL                          "odtrace_dropped_total"
#define M_EXPORT_DROPPED_INTERVALS_TOTAL         "odtrace_export_dropped_intervals_total"
#define M_EXPORT_DURATION_SECONDS                "odtrace_export_duration_seconds"
#define M_EXPORT_QUEUE_INTERVALS                 "odtrace_export_queue_intervals"
#define M_EXPORT_REQUESTS_TOTAL                  "odtrace_export_requests_total"
#define M_TRACED_CGROUPS                         "odtrace_traced_cgroups"
#define M_TRACED_PROCESSES                       "odtrace_traced_processes"

#endif
