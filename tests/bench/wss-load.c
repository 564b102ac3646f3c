/* wss-load.c: a wss:// load generator (GnuTLS client, one thread, epoll)
 *
 *   wss-load --url wss://127.0.0.1:PORT/echo --mode echo|connect|hold
 *            [--conns N] [--size BYTES] [--duration S] [--warmup S]
 *            [--ramp N] [--timeout S] [--server-pid PID]
 *
 * The harness's wsload (shared/bench) speaks plain TCP only; this is its
 * counterpart for TLS, with the same kind of output (one JSON object on one
 * line on stdout, diagnostics on stderr) and the same field names where the
 * meaning is the same:
 *
 *   echo     --conns connections each send the text message
 *            {"type":"echo","data":"xxx..."} of --size bytes and wait for
 *            any data message back, then send the next; after --warmup
 *            seconds, replies are counted for --duration seconds.
 *   connect  --conns parallel loops of TCP connect, TLS handshake, upgrade,
 *            close frame 1000, the server's close frame, closing the socket;
 *            handshakes/s and latency connect() to 101 in the window.
 *   hold     opens --conns connections, at most --ramp (64) handshakes in
 *            flight; with --server-pid, the server's VmRSS after the first
 *            min(100, conns) and 0.3 s, and again after all and --duration
 *            seconds: bytes per added connection.
 *
 * Every connect, handshake, reply and close has a deadline (--timeout), and
 * the whole run one more, so it never hangs. SIGINT/SIGTERM end the run
 * early and still print the result. Connections that fail are counted and,
 * except in connect mode, not opened again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench-util.h"
#include "wss-client.h"

#define MS_NS G_GINT64_CONSTANT (1000000)
#define SCAN_NS (50 * MS_NS)
#define RETRY_NS (10 * MS_NS)     /* connect mode: pause after a failed loop */
#define SETTLE_NS (300 * MS_NS)   /* hold: after the base batch */

typedef enum { MODE_ECHO, MODE_CONNECT, MODE_HOLD } Mode;
static const char *const mode_names[] = { "echo", "connect", "hold" };

typedef enum
{
  PHASE_OPEN,         /* echo: all connections; hold: the base batch */
  PHASE_HOLD_SETTLE,  /* hold: base batch open, let the server settle */
  PHASE_HOLD_RAMP,    /* hold: opening the rest */
  PHASE_WARMUP,
  PHASE_MEASURE,      /* the window (hold: the hold) */
  PHASE_DONE,
} Phase;

typedef struct
{
  guint64 msgs, sent, handshakes, cycles, unexpected_msgs;
} Stats;

typedef struct
{
  /* options */
  Mode        mode;
  char       *url;
  char       *priority;
  int         conns;
  int         size;
  double      duration, warmup, timeout;
  int         ramp;
  int         hold_base;
  int         server_pid;

  WssClient  *client;
  WssConn    *slots;
  int         started;
  Phase       phase;
  gint64      phase_end;
  gint64      last_scan;
  guint8     *payload;

  /* results */
  Stats       st, st0, st1;
  GArray     *lat;        /* gint64 ns: echo round trips in the window */
  GArray     *hs_lat;     /* gint64 ns: connect() to 101 in the window (hold: all) */
  gint64      t0, t1, t_ramp0, t_ramp1;
  BenchSnapshot snap0, snap1;   /* every CPU's use too: others' load shows there */
  long        rss_base, rss_start, rss_end;
  int         hold_base_open;
} Load;

static volatile sig_atomic_t stop_requested;

/* ---------------------------------------------------------------------- */
/* what each mode does with a connection                                    */

static void
send_echo (Load    *load,
           WssConn *c,
           gint64   now)
{
  wss_conn_queue_text (c, load->payload, (gsize) load->size);
  c->waiting = TRUE;
  c->t_sent = now;
  c->deadline = now + wss_client_get_timeout (load->client);
  if (load->phase == PHASE_MEASURE)
    load->st.sent++;
}

static void
on_opened (WssConn  *c,
           gint64    now,
           gpointer  user_data)
{
  Load *load = user_data;

  if (load->phase == PHASE_MEASURE || load->mode == MODE_HOLD)
    {
      gint64 lat = now - c->t_connect;

      load->st.handshakes++;
      g_array_append_val (load->hs_lat, lat);
    }
  if (load->mode == MODE_CONNECT)
    wss_conn_close (c, 1000, now);
  else if (load->mode == MODE_ECHO &&
           (load->phase == PHASE_WARMUP || load->phase == PHASE_MEASURE))
    send_echo (load, c, now);
  /* the caller flushes */
}

static void
on_message (WssConn  *c,
            gint64    now,
            gpointer  user_data)
{
  Load *load = user_data;

  if (load->mode != MODE_ECHO || !c->waiting)
    {
      load->st.unexpected_msgs++;
      return;
    }
  c->waiting = FALSE;
  c->deadline = 0;
  if (load->phase == PHASE_MEASURE)
    {
      gint64 lat = now - c->t_sent;

      load->st.msgs++;
      g_array_append_val (load->lat, lat);
    }
  if (load->phase == PHASE_WARMUP || load->phase == PHASE_MEASURE)
    send_echo (load, c, now);
  /* the caller flushes once per read */
}

static void
on_ended (WssConn  *c,
          gboolean  clean,
          gint64    now,
          gpointer  user_data)
{
  Load *load = user_data;

  c->waiting = FALSE;
  if (load->mode != MODE_CONNECT || load->phase == PHASE_DONE)
    return;
  if (clean && !c->closed_by_peer && load->phase == PHASE_MEASURE)
    load->st.cycles++;
  /* Not at once: the slot may be in the middle of handling an event. */
  c->retry_at = now + (clean ? 0 : RETRY_NS);
}

/* ---------------------------------------------------------------------- */
/* phases                                                                   */

static void
begin_measure (Load   *load,
               gint64  now)
{
  load->st0 = load->st;
  if (load->mode != MODE_HOLD)
    g_array_set_size (load->hs_lat, 0);
  g_array_set_size (load->lat, 0);
  load->t0 = now;
  bench_snapshot_take (&load->snap0, load->server_pid);
  load->rss_start = bench_read_rss_kb (load->server_pid);
  load->phase = PHASE_MEASURE;
  load->phase_end = now + (gint64) (load->duration * 1e9);
}

static void
end_measure (Load   *load,
             gint64  now)
{
  load->st1 = load->st;
  load->t1 = now;
  bench_snapshot_take (&load->snap1, load->server_pid);
  load->rss_end = bench_read_rss_kb (load->server_pid);
  load->phase = PHASE_DONE;
}

static void
begin_warmup (Load   *load,
              gint64  now)
{
  int i;

  load->phase = PHASE_WARMUP;
  load->phase_end = now + (gint64) (load->warmup * 1e9);
  if (load->mode != MODE_ECHO)
    return;
  for (i = 0; i < load->started; i++)
    {
      WssConn *c = &load->slots[i];

      if (c->state == WSS_OPEN)
        {
          send_echo (load, c, now);
          wss_conn_flush (c, now);
        }
    }
}

static void
ramp (Load   *load,
      int     target,
      gint64  now)
{
  while (load->started < target &&
         wss_client_get_counters (load->client)->pending < load->ramp)
    wss_conn_start (load->client, &load->slots[load->started++], now);
}

static void
scan (Load   *load,
      gint64  now)
{
  int i;

  for (i = 0; i < load->started; i++)
    {
      WssConn *c = &load->slots[i];

      if (c->state != WSS_FREE && c->deadline != 0 && now > c->deadline)
        wss_conn_fail (c, WSS_ERR_TIMEOUT, "nothing within --timeout", now);
      else if (c->state == WSS_FREE && c->retry_at != 0 && now >= c->retry_at &&
               load->phase < PHASE_DONE)
        {
          c->retry_at = 0;
          wss_conn_start (load->client, c, now);
        }
    }
}

static gboolean
all_started (Load *load,
             int   target)
{
  return load->started >= target && wss_client_get_counters (load->client)->pending == 0;
}

static void
tick (Load   *load,
      gint64  now)
{
  /* connect mode loops again at once; the rest needs a look now and then */
  if (load->mode == MODE_CONNECT || now - load->last_scan > SCAN_NS)
    {
      load->last_scan = now;
      scan (load, now);
    }
  switch (load->phase)
    {
    case PHASE_OPEN:
      ramp (load, load->mode == MODE_HOLD ? load->hold_base : load->conns, now);
      if (load->mode == MODE_HOLD && all_started (load, load->hold_base))
        {
          load->phase = PHASE_HOLD_SETTLE;
          load->phase_end = now + SETTLE_NS;
        }
      else if (load->mode != MODE_HOLD && all_started (load, load->conns))
        begin_warmup (load, now);
      break;
    case PHASE_HOLD_SETTLE:
      if (now >= load->phase_end)
        {
          load->rss_base = bench_read_rss_kb (load->server_pid);
          load->hold_base_open = wss_client_get_counters (load->client)->open;
          load->t_ramp0 = now;
          load->phase = PHASE_HOLD_RAMP;
        }
      break;
    case PHASE_HOLD_RAMP:
      ramp (load, load->conns, now);
      if (all_started (load, load->conns))
        {
          load->t_ramp1 = now;
          begin_measure (load, now);
        }
      break;
    case PHASE_WARMUP:
      if (now >= load->phase_end)
        begin_measure (load, now);
      break;
    case PHASE_MEASURE:
      if (now >= load->phase_end)
        end_measure (load, now);
      break;
    case PHASE_DONE:
    default:
      break;
    }
}

/* ---------------------------------------------------------------------- */
/* output                                                                   */

static void
append_hold (Load    *load,
             GString *out)
{
  const WssCounters *counters = wss_client_get_counters (load->client);
  double ramp_s = (double) (load->t_ramp1 - load->t_ramp0) / 1e9;
  int added = counters->open - load->hold_base_open;

  g_string_append_printf (out, "\"hold_base_conns\":%d,\"ramp_s\":%.3f,"
                          "\"ramp_conns_per_s\":%.1f,\"server_rss_base_kb\":%ld,",
                          load->hold_base_open, ramp_s,
                          ramp_s > 0 ? (load->conns - load->hold_base) / ramp_s : 0.0,
                          load->rss_base);
  if (load->rss_base > 0 && load->rss_end > 0 && added > 0)
    g_string_append_printf (out, "\"rss_per_conn_bytes\":%.0f,",
                            (double) (load->rss_end - load->rss_base) * 1024.0 / added);
  else
    g_string_append (out, "\"rss_per_conn_bytes\":null,");
}

static void
print_result (Load *load)
{
  const WssCounters *counters = wss_client_get_counters (load->client);
  g_autoptr(GString) out = g_string_new ("{");
  double win = load->t1 > load->t0 ? (double) (load->t1 - load->t0) / 1e9 : 0;
  guint64 msgs = load->st1.msgs - load->st0.msgs;
  guint64 sent = load->st1.sent - load->st0.sent;
  guint64 handshakes = load->st1.handshakes - load->st0.handshakes;
  guint64 cycles = load->st1.cycles - load->st0.cycles;
  guint64 errors = 0;
  int i;

#define RATE(x) (win > 0 ? (double) (x) / win : 0.0)
  if (load->mode == MODE_HOLD)
    handshakes = load->st.handshakes;
  for (i = 0; i < WSS_N_ERRORS; i++)
    errors += counters->err[i];
  bench_sort_samples (load->hs_lat);

  g_string_append_printf (out, "\"mode\":\"%s\",\"url\":\"%s\",\"tls\":\"%s\",",
                          mode_names[load->mode], load->url,
                          wss_client_get_tls_desc (load->client));
  g_string_append_printf (out, "\"conns\":%d,\"conns_open\":%d,\"conns_open_max\":%d,\"size\":%d,",
                          load->conns, counters->open, counters->open_max, load->size);
  g_string_append_printf (out, "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"window_s\":%.3f,",
                          load->warmup, load->duration, win);
  g_string_append_printf (out, "\"msgs\":%" G_GUINT64_FORMAT ",\"msgs_per_s\":%.1f,"
                          "\"sent\":%" G_GUINT64_FORMAT ",\"sent_per_s\":%.1f,",
                          msgs, RATE (msgs), sent, RATE (sent));
  bench_append_latency (out, load->lat);
  g_string_append_printf (out, "\"handshakes\":%" G_GUINT64_FORMAT ",\"handshakes_per_s\":%.1f,"
                          "\"hs_p50_us\":%.1f,\"hs_p99_us\":%.1f,",
                          handshakes, load->mode == MODE_HOLD ? 0.0 : RATE (handshakes),
                          bench_percentile_us (load->hs_lat, 0.50),
                          bench_percentile_us (load->hs_lat, 0.99));
  if (load->mode == MODE_CONNECT)
    g_string_append_printf (out, "\"cycles\":%" G_GUINT64_FORMAT ",\"cycles_per_s\":%.1f,",
                            cycles, RATE (cycles));
  if (load->mode == MODE_HOLD)
    append_hold (load, out);
  g_string_append_printf (out, "\"errors\":%" G_GUINT64_FORMAT ",", errors);
  for (i = 0; i < WSS_N_ERRORS; i++)
    g_string_append_printf (out, "\"err_%s\":%" G_GUINT64_FORMAT ",",
                            wss_error_names[i], counters->err[i]);
  g_string_append_printf (out, "\"closed_by_server\":%" G_GUINT64_FORMAT ",\"pings\":%"
                          G_GUINT64_FORMAT ",\"unexpected_msgs\":%" G_GUINT64_FORMAT ",",
                          counters->closed_by_server, counters->pings, load->st.unexpected_msgs);
  g_string_append_printf (out, "\"bytes_in\":%" G_GUINT64_FORMAT ",\"bytes_out\":%"
                          G_GUINT64_FORMAT ",", counters->bytes_in, counters->bytes_out);
  g_string_append_printf (out, "\"server_pid\":%d,\"server_rss_start_kb\":%ld,"
                          "\"server_rss_end_kb\":%ld,",
                          load->server_pid, load->rss_start, load->rss_end);
  bench_append_cpu (out, &load->snap0, &load->snap1, win, msgs);
#undef RATE
  bench_print_line (out, win > 0);
}

/* ---------------------------------------------------------------------- */
/* setup                                                                    */

static gboolean
parse_options (Load    *load,
               int      argc,
               char   **argv,
               GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autofree char *mode = NULL;
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &load->url, "wss://IPV4:PORT/PATH", "URL" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "echo, connect or hold (default echo)", "MODE" },
    { "conns", 0, 0, G_OPTION_ARG_INT, &load->conns, "Connections or loops (default 100)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &load->size,
      "Echo message bytes, at least 25 (default 64)", "B" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &load->duration,
      "Measured window; hold: how long all are held (default 3)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &load->warmup,
      "Uncounted traffic first; not in hold (default 1)", "S" },
    { "ramp", 0, 0, G_OPTION_ARG_INT, &load->ramp,
      "Most handshakes in flight while opening (default 64)", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &load->timeout,
      "Deadline of a connect and handshake, a reply, a close (default 10)", "S" },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &load->priority,
      "GnuTLS priority string (default: GnuTLS's defaults)", "STRING" },
    { "server-pid", 0, 0, G_OPTION_ARG_INT, &load->server_pid,
      "Read this process's RSS and CPU time", "PID" },
    G_OPTION_ENTRY_NULL
  };
  guint i;

  g_option_context_set_summary (context, "A wss:// load generator: echo, connect or hold.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;
  for (i = 0; mode != NULL && i < G_N_ELEMENTS (mode_names); i++)
    if (g_str_equal (mode, mode_names[i]))
      break;
  if (i == G_N_ELEMENTS (mode_names))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown mode %s", mode);
      return FALSE;
    }
  load->mode = mode != NULL ? (Mode) i : MODE_ECHO;
  if (load->url == NULL || load->conns < 1 || load->size < 25 || load->duration <= 0 ||
      load->warmup < 0 || load->ramp < 1 || load->timeout <= 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "needs --url; --conns, --ramp, --duration, --timeout above 0; --size >= 25");
      return FALSE;
    }
  if (load->mode == MODE_HOLD)
    load->warmup = 0;
  load->hold_base = MIN (100, load->conns);
  return TRUE;
}

static void
raise_nofile_limit (int conns)
{
  struct rlimit limit;
  rlim_t need = (rlim_t) conns + 64;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= need)
    return;
  limit.rlim_cur = MIN (limit.rlim_max, need);
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < need)
    wss_note ("RLIMIT_NOFILE is %lu, %d connections need about %lu",
              (unsigned long) limit.rlim_cur, conns, (unsigned long) need);
}

static void
on_signal (int signum)
{
  stop_requested = 1;
}

static void
run (Load *load)
{
  gint64 now = wss_now_ns ();
  /* Every connection step has --timeout; this is the net under them all. */
  gint64 hard_deadline = now + (gint64) ((load->warmup + load->duration + 4 * load->timeout +
                                          30 + load->conns / 100.0) * 1e9);
  int i;

  load->last_scan = now;
  load->phase = PHASE_OPEN;
  if (load->mode == MODE_CONNECT)
    {
      for (i = 0; i < load->conns; i++)
        wss_conn_start (load->client, &load->slots[load->started++], now);
      begin_warmup (load, now);
    }

  while (load->phase != PHASE_DONE)
    {
      /* connect mode: loops may wait for their retry_at */
      wss_client_poll (load->client, load->mode == MODE_CONNECT ? 1 : 10);
      now = wss_now_ns ();
      tick (load, now);
      if (stop_requested || now > hard_deadline)
        {
          if (!stop_requested)
            wss_note ("the run did not finish in time; reporting what there is");
          if (load->phase == PHASE_MEASURE)
            end_measure (load, now);
          else
            load->phase = PHASE_DONE;
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  static const WssCallbacks callbacks = { on_opened, on_message, on_ended };
  Load load = {
    .mode = MODE_ECHO, .conns = 100, .size = 64, .duration = 3, .warmup = 1,
    .ramp = 64, .timeout = 10,
    .rss_base = -1, .rss_start = -1, .rss_end = -1,
  };
  g_autoptr(GError) error = NULL;
  int i;

  if (!parse_options (&load, argc, argv, &error))
    {
      fprintf (stderr, "wss-load: %s\n", error->message);
      return EXIT_FAILURE;
    }
  raise_nofile_limit (load.conns);
  signal (SIGPIPE, SIG_IGN);
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  gnutls_global_init ();

  load.client = wss_client_new (load.url, load.priority, load.timeout, &callbacks, &load, &error);
  if (load.client == NULL)
    {
      fprintf (stderr, "wss-load: %s\n", error->message);
      return EXIT_FAILURE;
    }
  load.payload = bench_make_echo_payload ((gsize) load.size);
  load.lat = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 1 << 16);
  load.hs_lat = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 1 << 12);
  load.slots = g_new0 (WssConn, load.conns);
  for (i = 0; i < load.conns; i++)
    load.slots[i].fd = -1;

  run (&load);
  print_result (&load);

  for (i = 0; i < load.conns; i++)
    {
      wss_conn_finish (&load.slots[i], FALSE, wss_now_ns ());
      wss_conn_clear (&load.slots[i]);
    }
  g_free (load.slots);
  wss_client_free (load.client);
  gnutls_global_deinit ();
  g_array_unref (load.lat);
  g_array_unref (load.hs_lat);
  bench_snapshot_clear (&load.snap0);
  bench_snapshot_clear (&load.snap1);
  g_free (load.payload);
  g_free (load.url);
  g_free (load.priority);
  return load.t1 > load.t0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
