/* bench-util.h: what the load generators of tests/bench share
 *
 * Resource use of the load generator and of the server it drives (read
 * from /proc), how busy each CPU was, latency percentiles and the echo
 * payload. Load generators only: nothing here is part of owlsock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

typedef struct
{
  guint64 busy, total;   /* clock ticks */
} CpuTimes;

/* What each end of a measured window reads: this process's CPU, every
 * CPU's, the server's (server_ticks -1 without a server pid). */
typedef struct
{
  double  self_cpu_s;
  GArray *cpus;           /* CpuTimes */
  long    server_ticks;
} BenchSnapshot;

void     bench_snapshot_take      (BenchSnapshot *snap,
                                   int            server_pid);
void     bench_snapshot_clear     (BenchSnapshot *snap);
void     bench_append_cpu         (GString             *out,
                                   const BenchSnapshot *start,
                                   const BenchSnapshot *end,
                                   double               window_s,
                                   guint64              msgs);

long     bench_read_rss_kb        (int          pid);
void     bench_sort_samples       (GArray      *samples);
double   bench_percentile_us      (GArray      *samples,
                                   double       q);
double   bench_mean_us            (GArray      *samples);
void     bench_append_latency     (GString     *out,
                                   GArray      *samples);
void     bench_print_line         (GString     *out,
                                   gboolean     ok);
guint8  *bench_make_echo_payload  (gsize        size);
