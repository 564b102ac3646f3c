/* bench-util.c: what the load generators of tests/bench share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench-util.h"

long
bench_read_rss_kb (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  const char *line;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nVmRSS:");
  return line != NULL ? strtol (line + 7, NULL, 10) : -1;
}

/* utime + stime of every thread, in clock ticks */
static long
bench_read_cpu_ticks (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  unsigned long utime, stime;
  const char *p;

  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  /* after "(comm) " come state (field 3) ... utime and stime (14 and 15) */
  p = strrchr (text, ')');
  if (p == NULL ||
      sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
              &utime, &stime) != 2)
    return -1;
  return (long) (utime + stime);
}

/* seconds of CPU between two bench_read_cpu_ticks(); -1 if either failed */
static double
bench_server_cpu_s (long ticks0,
                    long ticks1)
{
  if (ticks0 < 0 || ticks1 < 0)
    return -1;
  return (double) (ticks1 - ticks0) / (double) sysconf (_SC_CLK_TCK);
}

/* /proc/stat's cpuN lines; busy is all but idle and iowait */
static GArray *
bench_read_cpu_times (void)
{
  GArray *cpus = g_array_new (FALSE, TRUE, sizeof (CpuTimes));
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint i;

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return cpus;
  lines = g_strsplit (text, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      guint64 v[8] = { 0, };
      CpuTimes t = { 0, 0 };
      guint j;

      if (!g_str_has_prefix (lines[i], "cpu") || !g_ascii_isdigit (lines[i][3]))
        continue;
      if (sscanf (lines[i], "%*s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                  " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                  " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
        continue;
      for (j = 0; j < G_N_ELEMENTS (v); j++)
        t.total += v[j];
      t.busy = t.total - v[3] - v[4];
      g_array_append_val (cpus, t);
    }
  return cpus;
}

/* "cpus_busy_pct":[...], : how busy each CPU was between two
 * bench_read_cpu_times(), whoever used it: on a shared machine, busy minus
 * the server and the load generator is what others took. */
static void
bench_append_cpus_busy (GString *out,
                        GArray  *cpus0,
                        GArray  *cpus1)
{
  guint i, n = 0;

  if (cpus0 != NULL && cpus1 != NULL)
    n = MIN (cpus0->len, cpus1->len);

  g_string_append (out, "\"cpus_busy_pct\":[");
  for (i = 0; i < n; i++)
    {
      CpuTimes *a = &g_array_index (cpus0, CpuTimes, i);
      CpuTimes *b = &g_array_index (cpus1, CpuTimes, i);
      guint64 total = b->total - a->total;

      g_string_append_printf (out, "%s%.1f", i > 0 ? "," : "",
                              total > 0 ? (double) (b->busy - a->busy) * 100.0 / total : 0.0);
    }
  g_string_append (out, "],");
}

/* user + system CPU seconds of this process, every thread */
static double
bench_self_cpu_s (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

void
bench_snapshot_take (BenchSnapshot *snap,
                     int            server_pid)
{
  snap->self_cpu_s = bench_self_cpu_s ();
  snap->cpus = bench_read_cpu_times ();
  snap->server_ticks = bench_read_cpu_ticks (server_pid);
}

void
bench_snapshot_clear (BenchSnapshot *snap)
{
  g_clear_pointer (&snap->cpus, g_array_unref);
}

/* loadgen_cpu_pct, server_cpu_pct (null without a server), the CPU
 * microseconds of each per message received in the window, and
 * cpus_busy_pct */
void
bench_append_cpu (GString             *out,
                  const BenchSnapshot *start,
                  const BenchSnapshot *end,
                  double               window_s,
                  guint64              msgs)
{
  double self = end->self_cpu_s - start->self_cpu_s;
  double server = bench_server_cpu_s (start->server_ticks, end->server_ticks);

  g_string_append_printf (out, "\"loadgen_cpu_pct\":%.1f,\"loadgen_cpu_us_per_msg\":%.2f,",
                          window_s > 0 ? self / window_s * 100.0 : 0.0,
                          msgs > 0 ? self * 1e6 / msgs : 0.0);
  if (server >= 0 && window_s > 0)
    g_string_append_printf (out, "\"server_cpu_pct\":%.1f,\"server_cpu_us_per_msg\":%.2f,",
                            server / window_s * 100.0, msgs > 0 ? server * 1e6 / msgs : 0.0);
  else
    g_string_append (out, "\"server_cpu_pct\":null,\"server_cpu_us_per_msg\":null,");
  bench_append_cpus_busy (out, start->cpus, end->cpus);
}

static int
cmp_gint64 (gconstpointer a,
            gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* @samples: gint64 nanoseconds */
void
bench_sort_samples (GArray *samples)
{
  g_array_sort (samples, cmp_gint64);
}

/* nearest rank, in µs; @samples must be sorted */
double
bench_percentile_us (GArray *samples,
                     double  q)
{
  gsize rank;

  if (samples->len == 0)
    return 0;
  rank = (gsize) (q * samples->len + 0.999999);
  rank = CLAMP (rank, 1, samples->len);
  return g_array_index (samples, gint64, rank - 1) / 1e3;
}

double
bench_mean_us (GArray *samples)
{
  double sum = 0;
  guint i;

  for (i = 0; i < samples->len; i++)
    sum += (double) g_array_index (samples, gint64, i);
  return samples->len > 0 ? sum / samples->len / 1e3 : 0;
}

/* "lat_samples":N,"lat_p50_us":...,"lat_mean_us":..., of @samples (sorted here) */
void
bench_append_latency (GString *out,
                      GArray  *samples)
{
  bench_sort_samples (samples);
  g_string_append_printf (out, "\"lat_samples\":%u,\"lat_p50_us\":%.1f,\"lat_p90_us\":%.1f,"
                          "\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f,\"lat_mean_us\":%.1f,",
                          samples->len, bench_percentile_us (samples, 0.50),
                          bench_percentile_us (samples, 0.90),
                          bench_percentile_us (samples, 0.99),
                          bench_percentile_us (samples, 1.0), bench_mean_us (samples));
}

/* Ends the JSON object with "ok" and prints it as one line on stdout. */
void
bench_print_line (GString  *out,
                  gboolean  ok)
{
  g_string_append_printf (out, "\"ok\":%s}", ok ? "true" : "false");
  printf ("%s\n", out->str);
  fflush (stdout);
}

/* {"type":"echo","data":"xxx..."} of @size bytes (at least 25), not
 * NUL-terminated (one more byte is allocated and set to NUL) */
guint8 *
bench_make_echo_payload (gsize size)
{
  static const char head[] = "{\"type\":\"echo\",\"data\":\"";
  gsize h = sizeof head - 1;
  guint8 *payload = g_malloc0 (size + 1);

  memcpy (payload, head, h);
  memset (payload + h, 'x', size - h - 2);
  memcpy (payload + size - 2, "\"}", 2);
  return payload;
}
