/* test-fairness.c: one connection's costly burst does not hold the others
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A connection's messages may take about a millisecond of one main loop
 * turn; the rest of what was read from it waits for the next turn, after
 * the other connections had theirs. Asserted by order of handling, never
 * by elapsed time: a bystander's message that arrives while a burst is
 * being handled is handled after at most a couple of the burst's messages,
 * not after all of them.
 *
 * What such a burst writes to other connections (a publisher's broadcasts)
 * is carried in their corks from one of its turns to the next, so a
 * subscriber still gets it in a few writes: the corks go as soon as another
 * connection's turn ends, when the burst is over or its sender ends, and
 * after OWL_WS_CORK_CARRY_MAX_US (10 ms) at the latest.
 */

#include "owl-test-util.h"

#include <string.h>

#define BURST       40
#define COST_US     2000   /* what each message of the burst costs its handler */

typedef struct
{
  GString    *order;       /* 'a' per burst message, 'b' for the bystander's */
  OwlTestRaw *bystander;
  gboolean    bystander_sent;
} Fairness;

static Fairness fairness;

/* Stands for a costly handler or schema: it burns time, on purpose. */
static void
burn (gint64 us)
{
  gint64 until = g_get_monotonic_time () + us;

  while (g_get_monotonic_time () < until)
    ;
}

static void
on_message (OwlConnection *connection,
            JsonNode      *message,
            gpointer       user_data)
{
  const char *type = owl_test_json_get_string (message, "type");

  if (g_strcmp0 (type, "hi") == 0)
    {
      g_string_append_c (fairness.order, 'b');
      return;
    }

  burn (COST_US);
  g_string_append_c (fairness.order, 'a');
  /* The bystander speaks while the burst is being handled. */
  if (!fairness.bystander_sent)
    {
      g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, "{\"type\":\"hi\"}", 13);

      fairness.bystander_sent = TRUE;
      owl_test_raw_write_now (fairness.bystander, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  g_signal_connect (connection, "message", G_CALLBACK (on_message), NULL);
}

static void
test_burst (OwlTestFixture *fixture,
            gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, "work", "/work");
  g_autoptr(GByteArray) burst = g_byte_array_new ();
  OwlTestRaw *attacker;
  const char *b;

  /* Many messages a second are the point here. */
  g_object_set (module, "rate-limit", 0, NULL);
  g_signal_connect (module, "connection", G_CALLBACK (on_connection), NULL);
  if (GPOINTER_TO_INT (data))
    owl_test_fixture_use_tls (fixture);
  owl_test_fixture_listen (fixture);

  fairness.order = g_string_new (NULL);
  fairness.bystander_sent = FALSE;
  fairness.bystander = owl_test_raw_connect_with (fixture->port, "/work", NULL, 0, fixture->tls, NULL);
  attacker = owl_test_raw_connect_with (fixture->port, "/work", NULL, 0, fixture->tls, NULL);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);

  /* The whole burst is in the socket before the server reads any of it. */
  for (guint i = 0; i < BURST; i++)
    {
      g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, "{\"type\":\"work\"}", 15);

      g_byte_array_append (burst, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }
  owl_test_raw_write_now (attacker, burst->data, burst->len);

  OWL_TEST_WAIT_FOR (strchr (fairness.order->str, 'b') != NULL);
  b = strchr (fairness.order->str, 'b');
  g_test_message ("order: %s", fairness.order->str);
  /* One turn's worth of the burst (each message is over the budget alone),
   * and one more if the bystander's event came just after the kick. */
  g_assert_cmpuint (b - fairness.order->str, <=, 2);

  /* The rest of the burst is handled all the same. */
  OWL_TEST_WAIT_FOR (fairness.order->len == BURST + 1);

  owl_test_raw_free (attacker);
  owl_test_raw_free (fairness.bystander);
  g_string_free (fairness.order, TRUE);
}

/* Carried corks ---------------------------------------------------------- */

#define FANOUT_BURST 30

typedef struct
{
  OwlSocketService *service;
  OwlTestRaw       *listener;
  guint             n_handled;
} Carry;

static Carry carry;

static void
on_publish (OwlConnection *connection,
            JsonNode      *message,
            gpointer       user_data)
{
  g_autofree char *text = g_strdup_printf ("{\"type\":\"tick\",\"n\":%u}", carry.n_handled);

  burn (COST_US);
  owl_socket_service_broadcast_text (carry.service, "r", text, connection);
  carry.n_handled++;
}

static void
on_room_connection (OwlModule     *module,
                    OwlConnection *connection,
                    gpointer       user_data)
{
  owl_connection_join (connection, "r");
  g_signal_connect (connection, "message", G_CALLBACK (on_publish), NULL);
}

/* A publisher's burst, each message over the turn budget, then a close in
 * the same write: the subscriber gets every broadcast in order, some of
 * them while the burst still runs, and none is lost when the publisher's
 * end comes while its corks are carried. */
static void
test_carried_corks (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, "room", "/room");
  g_autoptr(GByteArray) burst = g_byte_array_new ();
  g_autoptr(GBytes) close_frame = NULL;
  OwlTestRaw *publisher;
  guint8 close_payload[2] = { 0x03, 0xe8 };
  guint handled_at_first = 0;

  g_object_set (module, "rate-limit", 0, NULL);
  g_signal_connect (module, "connection", G_CALLBACK (on_room_connection), NULL);
  if (GPOINTER_TO_INT (data))
    owl_test_fixture_use_tls (fixture);
  owl_test_fixture_listen (fixture);

  carry = (Carry) { fixture->service, NULL, 0 };
  carry.listener = owl_test_raw_connect_with (fixture->port, "/room", NULL, 0, fixture->tls, NULL);
  publisher = owl_test_raw_connect_with (fixture->port, "/room", NULL, 0, fixture->tls, NULL);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);

  for (guint i = 0; i < FANOUT_BURST; i++)
    {
      g_autoptr(GBytes) frame = owl_test_frame_build (0x81, TRUE, "{\"type\":\"pub\"}", 14);

      g_byte_array_append (burst, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
    }
  close_frame = owl_test_frame_build (0x88, TRUE, close_payload, sizeof close_payload);
  g_byte_array_append (burst, g_bytes_get_data (close_frame, NULL), g_bytes_get_size (close_frame));
  owl_test_raw_write_now (publisher, burst->data, burst->len);

  for (guint i = 0; i < FANOUT_BURST; i++)
    {
      g_autoptr(OwlTestFrame) frame = owl_test_raw_read_frame (carry.listener);
      g_autofree char *expected = g_strdup_printf ("{\"type\":\"tick\",\"n\":%u}", i);

      g_assert_nonnull (frame);
      if (i == 0)
        handled_at_first = carry.n_handled;
      g_assert_cmpuint (frame->opcode, ==, 0x1);
      g_assert_cmpmem (g_bytes_get_data (frame->payload, NULL), g_bytes_get_size (frame->payload),
                       expected, strlen (expected));
    }
  /* 30 messages of 2 ms each: the first broadcasts could not stay corked
   * until the end of the burst (60 ms), the cap is 10 ms. */
  g_test_message ("first broadcast read after %u of %u", handled_at_first, FANOUT_BURST);
  g_assert_cmpuint (handled_at_first, <, FANOUT_BURST);
  g_assert_cmpint (owl_test_raw_read_close (publisher, NULL, NULL), ==, 1000);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 1);

  owl_test_raw_free (publisher);
  owl_test_raw_free (carry.listener);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  g_test_add ("/owl/fairness/burst/plain", OwlTestFixture, GINT_TO_POINTER (FALSE),
              owl_test_fixture_setup, test_burst, owl_test_fixture_teardown);
  g_test_add ("/owl/fairness/burst/tls", OwlTestFixture, GINT_TO_POINTER (TRUE),
              owl_test_fixture_setup, test_burst, owl_test_fixture_teardown);
  g_test_add ("/owl/fairness/carried-corks/plain", OwlTestFixture, GINT_TO_POINTER (FALSE),
              owl_test_fixture_setup, test_carried_corks, owl_test_fixture_teardown);
  g_test_add ("/owl/fairness/carried-corks/tls", OwlTestFixture, GINT_TO_POINTER (TRUE),
              owl_test_fixture_setup, test_carried_corks, owl_test_fixture_teardown);

  return g_test_run ();
}
