/* client-load.c: an echo load generator built on OwlSocketClient
 *
 *   client-load --url ws://127.0.0.1:PORT/echo [--conns N] [--size BYTES]
 *               [--duration S] [--warmup S] [--timeout S] [--deflate]
 *               [--server-pid PID]
 *
 * The same measurement as the harness's wsload in echo mode (shared/bench),
 * made with owlsock's own client, so that what the client costs per message
 * can be set beside what the server costs: --conns OwlSocketClients (100)
 * each send the text message {"type":"echo","data":"xxx..."} of --size
 * bytes (64) with owl_socket_client_send_text() and wait for the reply
 * (the `message` signal) before sending the next; after --warmup seconds
 * (1), replies are counted for --duration seconds (3). One GLib main loop,
 * one thread. permessage-deflate is off unless --deflate (wsload does not
 * offer it); reconnecting is off: a connection that ends is counted.
 *
 * Prints one JSON object on one line on stdout, with wsload's field names
 * where the meaning is the same, and the CPU cost per message:
 * `loadgen_cpu_us_per_msg` (getrusage, this process) and, with
 * --server-pid, `server_cpu_us_per_msg` (/proc/PID/stat) over the same
 * window. Every connect and reply has a deadline (--timeout, 10 s), and the
 * whole run one more; SIGINT/SIGTERM end the run early and still print.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib-unix.h>
#include <owlsock/owlsock.h>

#include "bench-util.h"

#define TICK_MS 20
#define CLOSE_WAIT_MS 2000

typedef enum
{
  PHASE_OPEN,
  PHASE_WARMUP,
  PHASE_MEASURE,
  PHASE_DONE,
} Phase;

typedef struct _Load Load;

typedef struct
{
  Load            *load;
  OwlSocketClient *client;
  gint64           t_sent;     /* µs; 0: no message in flight */
  gboolean         open;
  gboolean         ended;      /* failed, closed or timed out: not used again */
} Conn;

typedef struct
{
  guint64 msgs, sent;
} Stats;

struct _Load
{
  /* options */
  char       *url;
  int         conns;
  int         size;
  double      duration, warmup, timeout;
  gboolean    deflate;
  int         server_pid;

  Conn       *slots;
  char       *payload;
  GMainLoop  *loop;
  Phase       phase;
  gint64      phase_end, hard_deadline;
  int         opened, open_max;
  gboolean    stop_requested;

  /* results */
  Stats       st, st0, st1;
  guint64     err_connect, err_closed, err_timeout, unexpected_msgs;
  GArray     *lat;           /* gint64 ns: round trips in the window */
  gint64      t0, t1;        /* µs */
  BenchSnapshot snap0, snap1;
};

/* ---------------------------------------------------------------------- */
/* one connection                                                           */

static void
send_echo (Conn   *c,
           gint64  now)
{
  Load *load = c->load;
  g_autoptr(GError) error = NULL;

  if (!owl_socket_client_send_text (c->client, load->payload, &error))
    {
      g_printerr ("client-load: send: %s\n", error->message);
      c->ended = TRUE;
      load->err_closed++;
      return;
    }
  c->t_sent = now;
  if (load->phase == PHASE_MEASURE)
    load->st.sent++;
}

static void
on_message (OwlSocketClient *client,
            JsonNode        *message,
            gpointer         user_data)
{
  Conn *c = user_data;
  Load *load = c->load;
  gint64 now = g_get_monotonic_time ();

  if (c->t_sent == 0)
    {
      load->unexpected_msgs++;
      return;
    }
  if (load->phase == PHASE_MEASURE)
    {
      gint64 lat = (now - c->t_sent) * 1000;

      load->st.msgs++;
      g_array_append_val (load->lat, lat);
    }
  c->t_sent = 0;
  if (load->phase == PHASE_WARMUP || load->phase == PHASE_MEASURE)
    send_echo (c, now);
}

static void
on_state (OwlSocketClient *client,
          GParamSpec      *pspec,
          gpointer         user_data)
{
  Conn *c = user_data;
  Load *load = c->load;
  OwlSocketClientState state = owl_socket_client_get_state (client);

  if (state == OWL_SOCKET_CLIENT_CONNECTED && !c->open)
    {
      c->open = TRUE;
      load->opened++;
      load->open_max = MAX (load->open_max, load->opened);
    }
  else if (state == OWL_SOCKET_CLIENT_CLOSED || state == OWL_SOCKET_CLIENT_RECONNECTING)
    {
      if (c->open)
        load->opened--;
      if (load->phase != PHASE_DONE && !c->ended)
        {
          if (c->open)
            load->err_closed++;
          else
            load->err_connect++;
        }
      c->open = FALSE;
      c->ended = TRUE;
      c->t_sent = 0;
    }
}

static void
on_error (OwlSocketClient *client,
          GError          *error,
          gpointer         user_data)
{
  g_printerr ("client-load: %s\n", error->message);
}

static void
conn_start (Load *load,
            Conn *c)
{
  c->load = load;
  c->client = owl_socket_client_new (load->url);
  g_object_set (c->client,
                "reconnect", FALSE,
                "deflate", load->deflate,
                "handshake-timeout", (guint) (load->timeout * 1000),
                NULL);
  g_signal_connect (c->client, "message", G_CALLBACK (on_message), c);
  g_signal_connect (c->client, "notify::state", G_CALLBACK (on_state), c);
  g_signal_connect (c->client, "error", G_CALLBACK (on_error), c);
  owl_socket_client_open (c->client);
}

/* ---------------------------------------------------------------------- */
/* phases                                                                   */

static void
begin_warmup (Load   *load,
              gint64  now)
{
  int i;

  load->phase = PHASE_WARMUP;
  load->phase_end = now + (gint64) (load->warmup * G_USEC_PER_SEC);
  for (i = 0; i < load->conns; i++)
    if (load->slots[i].open)
      send_echo (&load->slots[i], now);
}

static void
begin_measure (Load   *load,
               gint64  now)
{
  load->st0 = load->st;
  g_array_set_size (load->lat, 0);
  load->t0 = now;
  bench_snapshot_take (&load->snap0, load->server_pid);
  load->phase = PHASE_MEASURE;
  load->phase_end = now + (gint64) (load->duration * G_USEC_PER_SEC);
}

static void
end_measure (Load   *load,
             gint64  now)
{
  load->st1 = load->st;
  load->t1 = now;
  bench_snapshot_take (&load->snap1, load->server_pid);
  load->phase = PHASE_DONE;
}

/* a reply later than --timeout ends that connection */
static void
check_replies (Load   *load,
               gint64  now)
{
  gint64 limit = (gint64) (load->timeout * G_USEC_PER_SEC);
  int i;

  for (i = 0; i < load->conns; i++)
    {
      Conn *c = &load->slots[i];

      if (c->t_sent != 0 && now - c->t_sent > limit)
        {
          g_printerr ("client-load: no reply within --timeout\n");
          c->t_sent = 0;
          c->ended = TRUE;
          load->err_timeout++;
        }
    }
}

static gboolean
all_settled (Load *load)
{
  int i;

  for (i = 0; i < load->conns; i++)
    if (!load->slots[i].open && !load->slots[i].ended)
      return FALSE;
  return TRUE;
}

static gboolean
tick (gpointer user_data)
{
  Load *load = user_data;
  gint64 now = g_get_monotonic_time ();

  check_replies (load, now);
  if (load->phase == PHASE_OPEN && all_settled (load))
    begin_warmup (load, now);
  else if (load->phase == PHASE_WARMUP && now >= load->phase_end)
    begin_measure (load, now);
  else if (load->phase == PHASE_MEASURE && now >= load->phase_end)
    end_measure (load, now);

  if (load->stop_requested || now > load->hard_deadline)
    {
      if (!load->stop_requested)
        g_printerr ("client-load: the run did not finish in time; reporting what there is\n");
      if (load->phase == PHASE_MEASURE)
        end_measure (load, now);
      load->phase = PHASE_DONE;
    }
  if (load->phase != PHASE_DONE)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (load->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  Load *load = user_data;

  load->stop_requested = TRUE;
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------------------- */
/* output                                                                   */

static void
print_result (Load *load)
{
  g_autoptr(GString) out = g_string_new ("{");
  double win = load->t1 > load->t0 ? (double) (load->t1 - load->t0) / G_USEC_PER_SEC : 0;
  guint64 msgs = load->st1.msgs - load->st0.msgs;
  guint64 sent = load->st1.sent - load->st0.sent;
  guint64 errors = load->err_connect + load->err_closed + load->err_timeout;

  g_string_append_printf (out, "\"mode\":\"echo\",\"loadgen\":\"owlsock-client\",\"url\":\"%s\","
                          "\"deflate\":%s,", load->url, load->deflate ? "true" : "false");
  g_string_append_printf (out, "\"conns\":%d,\"conns_open\":%d,\"conns_open_max\":%d,\"size\":%d,",
                          load->conns, load->opened, load->open_max, load->size);
  g_string_append_printf (out, "\"warmup_s\":%.3f,\"duration_s\":%.3f,\"window_s\":%.3f,",
                          load->warmup, load->duration, win);
  g_string_append_printf (out, "\"msgs\":%" G_GUINT64_FORMAT ",\"msgs_per_s\":%.1f,"
                          "\"sent\":%" G_GUINT64_FORMAT ",\"sent_per_s\":%.1f,",
                          msgs, win > 0 ? msgs / win : 0.0, sent, win > 0 ? sent / win : 0.0);
  bench_append_latency (out, load->lat);
  g_string_append_printf (out, "\"errors\":%" G_GUINT64_FORMAT ",\"err_connect\":%"
                          G_GUINT64_FORMAT ",\"err_closed\":%" G_GUINT64_FORMAT
                          ",\"err_timeout\":%" G_GUINT64_FORMAT ",\"unexpected_msgs\":%"
                          G_GUINT64_FORMAT ",\"server_pid\":%d,",
                          errors, load->err_connect, load->err_closed, load->err_timeout,
                          load->unexpected_msgs, load->server_pid);
  bench_append_cpu (out, &load->snap0, &load->snap1, win, msgs);
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
  const GOptionEntry entries[] = {
    { "url", 0, 0, G_OPTION_ARG_STRING, &load->url, "ws://HOST:PORT/PATH (or wss://)", "URL" },
    { "conns", 0, 0, G_OPTION_ARG_INT, &load->conns, "Connections (default 100)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &load->size, "Message bytes, at least 25 (default 64)", "B" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &load->duration, "Measured window (default 3)", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &load->warmup, "Uncounted traffic first (default 1)", "S" },
    { "timeout", 0, 0, G_OPTION_ARG_DOUBLE, &load->timeout,
      "Deadline of a handshake and of a reply (default 10)", "S" },
    { "deflate", 0, 0, G_OPTION_ARG_NONE, &load->deflate, "Offer permessage-deflate", NULL },
    { "server-pid", 0, 0, G_OPTION_ARG_INT, &load->server_pid,
      "Read this process's CPU time over the window", "PID" },
    G_OPTION_ENTRY_NULL
  };

  g_option_context_set_summary (context, "An echo load generator on OwlSocketClient.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, error))
    return FALSE;
  if (load->url == NULL || load->conns < 1 || load->size < 25 || load->duration <= 0 ||
      load->warmup < 0 || load->timeout <= 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "needs --url; --conns, --duration, --timeout above 0; --size >= 25");
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_close_timeout (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
any_open (Load *load)
{
  int i;

  for (i = 0; i < load->conns; i++)
    if (owl_socket_client_get_state (load->slots[i].client) != OWL_SOCKET_CLIENT_CLOSED)
      return TRUE;
  return FALSE;
}

/* Closes every client and lets the close handshakes run, for a while. */
static void
close_all (Load *load)
{
  gboolean expired = FALSE;
  guint watchdog = g_timeout_add (CLOSE_WAIT_MS, on_close_timeout, &expired);
  int i;

  for (i = 0; i < load->conns; i++)
    owl_socket_client_close (load->slots[i].client, 1000, NULL);
  while (!expired && any_open (load))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (watchdog);
  for (i = 0; i < load->conns; i++)
    g_clear_object (&load->slots[i].client);
}

int
main (int   argc,
      char *argv[])
{
  Load load = {
    .conns = 100, .size = 64, .duration = 3, .warmup = 1, .timeout = 10,
  };
  g_autoptr(GError) error = NULL;
  int i;

  if (!parse_options (&load, argc, argv, &error))
    {
      g_printerr ("client-load: %s\n", error->message);
      return EXIT_FAILURE;
    }
  load.payload = (char *) bench_make_echo_payload ((gsize) load.size);
  load.lat = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 1 << 16);
  load.slots = g_new0 (Conn, load.conns);
  load.loop = g_main_loop_new (NULL, FALSE);
  load.hard_deadline = g_get_monotonic_time () +
                       (gint64) ((load.warmup + load.duration + 2 * load.timeout + 30 +
                                  load.conns / 100.0) * G_USEC_PER_SEC);
  g_unix_signal_add (SIGINT, on_signal, &load);
  g_unix_signal_add (SIGTERM, on_signal, &load);

  for (i = 0; i < load.conns; i++)
    conn_start (&load, &load.slots[i]);
  g_timeout_add (TICK_MS, tick, &load);
  g_main_loop_run (load.loop);
  print_result (&load);

  close_all (&load);
  g_main_loop_unref (load.loop);
  g_free (load.slots);
  g_array_unref (load.lat);
  bench_snapshot_clear (&load.snap0);
  bench_snapshot_clear (&load.snap1);
  g_free (load.payload);
  g_free (load.url);
  return load.t1 > load.t0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
