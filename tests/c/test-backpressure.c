/* test-backpressure.c: a peer that does not read: backpressure (close or
 * drop past max-buffered-amount) and the drain signal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every test ends with a well-behaved client on the same service whose echo
 * comes back. Each runs over both transports (OWL_TEST_TRANSPORTS):
 * owlsock's frame layer and libsoup's WebSocket code under a SoupServer with
 * its own TLS.
 */

#include "owl-test-checks.h"

#include <string.h>

#define KIB 1024

/* Backpressure --------------------------------------------------------------- */

/* Whether the peak RSS tells what the server holds. Under AddressSanitizer
 * freed memory waits in quarantine, so RSS grows with what was allocated
 * and freed: each broadcast made between main loop turns is copied into
 * the connection's cork (and over TLS goes through libsoup's frame and the
 * TLS record too), and the peak measures that quarantine. The build
 * without a sanitizer checks the bound on both transports. */
static gboolean
rss_is_meaningful (OwlTestFixture *fixture)
{
#ifdef __SANITIZE_ADDRESS__
  return FALSE;
#else
  return TRUE;
#endif
}

#define FLOOD_LIMIT    (256 * KIB)
#define FLOOD_MAX_SENT 200000
#define FLOOD_ROOM     "flood"

typedef struct
{
  OwlTestFixture *fixture;
  OwlConnection  *conn;         /* the non-reader */
  char           *message;      /* 1 KiB, n at the front */
  guint           sent;
  guint64         max_buffered;
  guint64         stop_at_dropped;
  gboolean        stop;
  gboolean        running;
  gboolean        direct;       /* sends to the connection, not broadcasts */
} Flood;

/* The flood of the next test sends to the connection (its frames copied,
 * not shared) instead of broadcasting. */
static gboolean flood_direct;

static void
join_flood_room (OwlModule     *module,
                 OwlConnection *conn,
                 gpointer       user_data)
{
  owl_connection_join (conn, FLOOD_ROOM);
}

static gboolean
flood_cb (gpointer user_data)
{
  Flood *flood = user_data;

  for (guint i = 0; i < 32 && !flood->stop; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"flood\",\"n\":%8u,\"pad\":\"%s\"}",
                                               flood->sent, flood->message);
      guint64 buffered;

      if (flood->direct)
        owl_connection_send_text (flood->conn, text, NULL);
      else
        owl_socket_service_broadcast_text (flood->fixture->service, FLOOD_ROOM, text, NULL);
      flood->sent++;
      buffered = owl_connection_get_buffered_amount (flood->conn);
      flood->max_buffered = MAX (flood->max_buffered, buffered);
      if (owl_connection_get_state (flood->conn) != OWL_CONNECTION_OPEN ||
          (flood->stop_at_dropped > 0 &&
           owl_connection_get_dropped_messages (flood->conn) >= flood->stop_at_dropped) ||
          flood->sent >= FLOOD_MAX_SENT)
        flood->stop = TRUE;
    }
  if (flood->stop)
    {
      flood->running = FALSE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static OwlTestRaw *
flood_setup (OwlTestFixture  *fixture,
             OwlBackpressure  policy,
             Flood           *flood)
{
  OwlModule *module;
  OwlTestRaw *raw;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  module = owl_test_fixture_add_module (fixture, "flood", "/ws/flood");
  g_object_set (module,
                "max-buffered-amount", (gint64) FLOOD_LIMIT,
                "backpressure", policy,
                NULL);
  g_signal_connect (module, "connection", G_CALLBACK (join_flood_room), NULL);
  owl_test_fixture_listen (fixture);

  /* A client that never reads, with a small receive window. */
  raw = owl_test_fixture_raw_connect (fixture, "/ws/flood", 4096);

  memset (flood, 0, sizeof *flood);
  flood->fixture = fixture;
  flood->conn = owl_test_fixture_wait_accepted (fixture, 0);
  flood->direct = flood_direct;
  g_assert_true (owl_connection_in_room (flood->conn, FLOOD_ROOM));
  flood->message = g_strnfill (KIB - 40, 'f');
  return raw;
}

static void
flood_run (Flood *flood)
{
  flood->running = TRUE;
  g_idle_add (flood_cb, flood);
  OWL_TEST_WAIT_FOR (!flood->running);
}

static void test_flood_close (OwlTestFixture *fixture,
                              gconstpointer   data);

/* The same with frames sent to the connection: a frame the socket took
 * only part of is never cut when the rest is dropped. */
static void
test_flood_close_direct (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  flood_direct = TRUE;
  test_flood_close (fixture, data);
  flood_direct = FALSE;
}

/* CLOSE: the non-reader is closed with 1013 once its queue would pass the
 * limit, and the server's memory stays bounded. */
static void
test_flood_close (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  Flood flood;
  OwlTestRaw *raw = flood_setup (fixture, OWL_BACKPRESSURE_CLOSE, &flood);
  gsize rss_before, peak_after;
  gboolean peak_reset;

  owl_test_drain ();
  peak_reset = owl_test_reset_peak_rss ();
  rss_before = owl_test_get_rss_kib ("VmRSS");

  flood_run (&flood);
  g_test_message ("%u broadcasts, %" G_GUINT64_FORMAT " bytes queued at most",
                  flood.sent, flood.max_buffered);
  owl_test_record_wait_closed (flood.conn);
  g_assert_cmpuint (owl_test_record_get (flood.conn)->close_code, ==, 1013);
  g_assert_cmpuint (flood.sent, <, FLOOD_MAX_SENT);
  g_assert_cmpuint (owl_connection_get_dropped_messages (flood.conn), ==, 0);
  g_assert_cmpuint (flood.max_buffered, <=, FLOOD_LIMIT);
  g_assert_cmpuint (owl_connection_get_buffered_amount (flood.conn), ==, 0);

  peak_after = owl_test_get_rss_kib (peak_reset ? "VmHWM" : "VmRSS");
  g_test_message ("RSS before %" G_GSIZE_FORMAT " KiB, %s after %" G_GSIZE_FORMAT " KiB",
                  rss_before, peak_reset ? "peak" : "RSS", peak_after);
  if (rss_is_meaningful (fixture))
    g_assert_cmpuint (peak_after, <, rss_before + 32 * KIB);

  /* Reading at last, the client finds whole messages, then the close
   * frame, then the end of the connection. */
  {
    g_autofree char *reason = NULL;

    g_assert_cmpint (owl_test_raw_read_close (raw, &reason, NULL), ==, 1013);
    g_assert_cmpstr (reason, ==, "Peer does not read");
    g_assert_true (owl_test_raw_wait_eof (raw));
  }

  owl_test_raw_free (raw);
  g_free (flood.message);
  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* DROP: the connection stays open, messages beyond the limit are dropped
 * and counted, whole: what the client finally reads is every message that
 * was not dropped, intact and in order. */
static void
test_flood_drop (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  Flood flood;
  OwlTestRaw *raw = flood_setup (fixture, OWL_BACKPRESSURE_DROP, &flood);
  OwlTestRecord *record = owl_test_record_get (flood.conn);
  gsize rss_before, peak_after;
  gboolean peak_reset;
  guint64 dropped, buffered;
  guint received = 0;
  gint64 last = -1;
  guint64 value = 0;

  owl_test_drain ();
  peak_reset = owl_test_reset_peak_rss ();
  rss_before = owl_test_get_rss_kib ("VmRSS");

  flood.stop_at_dropped = 1000;
  flood_run (&flood);

  dropped = owl_connection_get_dropped_messages (flood.conn);
  buffered = owl_connection_get_buffered_amount (flood.conn);
  g_test_message ("%u broadcasts, %" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
                  " bytes queued at most", flood.sent, dropped, flood.max_buffered);
  g_assert_cmpint (owl_connection_get_state (flood.conn), ==, OWL_CONNECTION_OPEN);
  g_assert_cmpuint (record->n_closed, ==, 0);
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (buffered, >, 0);
  g_assert_cmpuint (buffered, <=, FLOOD_LIMIT);
  g_assert_cmpuint (flood.max_buffered, <=, FLOOD_LIMIT);
  g_object_get (flood.conn, "dropped-messages", &value, NULL);
  g_assert_cmpuint (value, ==, dropped);
  g_object_get (flood.conn, "buffered-amount", &value, NULL);
  g_assert_cmpuint (value, ==, buffered);

  peak_after = owl_test_get_rss_kib (peak_reset ? "VmHWM" : "VmRSS");
  g_test_message ("RSS before %" G_GSIZE_FORMAT " KiB, %s after %" G_GSIZE_FORMAT " KiB",
                  rss_before, peak_reset ? "peak" : "RSS", peak_after);
  if (rss_is_meaningful (fixture))
    g_assert_cmpuint (peak_after, <, rss_before + 32 * KIB);

  /* The client reads at last: every frame is whole, numbers only go up,
   * and what arrived plus what was dropped is what was sent. */
  while (received + dropped < flood.sent)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;
      gint64 n;

      g_assert_nonnull (frame);
      g_assert_cmpuint (frame->opcode, ==, 0x1);
      text = g_strndup (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload));
      node = owl_test_json_parse (text);
      n = owl_test_json_get_int (node, "n");
      g_assert_cmpint (n, >, last);
      last = n;
      received++;
    }
  g_test_message ("the client read %u messages", received);
  g_assert_cmpuint (received + dropped, ==, flood.sent);
  OWL_TEST_WAIT_FOR (owl_connection_get_buffered_amount (flood.conn) == 0);
  g_assert_cmpint (owl_connection_get_state (flood.conn), ==, OWL_CONNECTION_OPEN);

  owl_test_raw_free (raw);
  owl_test_record_wait_closed (flood.conn);
  g_free (flood.message);
  owl_test_assert_echo_works (fixture, "/ws/echo");
}

/* Drain ------------------------------------------------------------------------ */

typedef struct
{
  guint n_drain;
  guint n_notify;
  guint64 buffered_at_drain;
} DrainCount;

static void
drain_cb (OwlConnection *conn,
          DrainCount    *count)
{
  count->n_drain++;
  count->buffered_at_drain = owl_connection_get_buffered_amount (conn);
}

static void
notify_buffered_cb (OwlConnection *conn,
                    GParamSpec    *pspec,
                    DrainCount    *count)
{
  count->n_notify++;
}

/* Send to a client that does not read until the socket pushes back, then
 * let it read: `drain` fires once and buffered-amount is 0 again. */
static void
test_drain (OwlTestFixture *fixture,
            gconstpointer   data)
{
  DrainCount count = { 0, 0, G_MAXUINT64 };
  g_autofree char *pad = g_strnfill (64 * KIB, 'd');
  OwlTestRaw *raw;
  OwlConnection *conn;
  guint sent = 0;
  gint64 last = -1;
  guint64 value = 1;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  raw = owl_test_fixture_raw_connect (fixture, "/ws/echo", 4096);
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  g_signal_connect (conn, "drain", G_CALLBACK (drain_cb), &count);
  g_signal_connect (conn, "notify::buffered-amount", G_CALLBACK (notify_buffered_cb), &count);

  while (owl_connection_get_buffered_amount (conn) == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strdup_printf ("{\"type\":\"bulk\",\"n\":%u,\"pad\":\"%s\"}",
                                               sent, pad);

      g_assert_cmpuint (sent, <, 2000);
      g_assert_true (owl_connection_send_text (conn, text, &error));
      g_assert_no_error (error);
      sent++;
    }
  g_test_message ("the socket pushed back after %u messages of 64 KiB; %" G_GUINT64_FORMAT
                  " bytes queued", sent, owl_connection_get_buffered_amount (conn));
  owl_test_drain ();
  g_assert_cmpuint (count.n_drain, ==, 0);
  g_assert_cmpuint (owl_connection_get_buffered_amount (conn), >, 0);

  while (last != (gint64) sent - 1)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *text = NULL;

      g_assert_nonnull (frame);
      text = g_strndup (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload));
      node = owl_test_json_parse (text);
      g_assert_cmpint (owl_test_json_get_int (node, "n"), ==, last + 1);
      last++;
    }

  OWL_TEST_WAIT_FOR (count.n_drain > 0);
  g_assert_cmpuint (count.n_drain, ==, 1);
  g_assert_cmpuint (count.buffered_at_drain, ==, 0);
  g_assert_cmpuint (count.n_notify, >=, 1);
  g_assert_cmpuint (owl_connection_get_buffered_amount (conn), ==, 0);
  g_object_get (conn, "buffered-amount", &value, NULL);
  g_assert_cmpuint (value, ==, 0);
  g_assert_cmpuint (owl_connection_get_dropped_messages (conn), ==, 0);

  /* The connection goes on as before. */
  g_assert_true (owl_test_raw_send_text (raw, "{\"type\":\"after-drain\"}"));
  {
    g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (raw);

    g_assert_nonnull (frame);
    g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                     "{\"type\":\"after-drain\"}", strlen ("{\"type\":\"after-drain\"}"));
  }
  owl_test_raw_free (raw);
  owl_test_assert_echo_works (fixture, "/ws/echo");
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST_TRANSPORTS ("/owl/limits/backpressure/close", test_flood_close);
  OWL_TEST_TRANSPORTS ("/owl/limits/backpressure/close-direct", test_flood_close_direct);
  OWL_TEST_TRANSPORTS ("/owl/limits/backpressure/drop", test_flood_drop);
  OWL_TEST_TRANSPORTS ("/owl/limits/drain", test_drain);

  return g_test_run ();
}
