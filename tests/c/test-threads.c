/* test-threads.c: sending and closing from other threads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

#define N_THREADS 4 /* one per entry point below */
#define N_PER_THREAD 200
#define N_PASSES 5

static const char *const entry_points[] = {
  "owl_connection_send",
  "owl_connection_send_text",
  "owl_socket_service_broadcast",
  "owl_socket_service_broadcast_text",
};

typedef struct
{
  OwlSocketService *service;
  OwlConnection    *conn;
  guint             thread_no;
  guint             first;     /* the first n of this pass */
} Sender;

/* Each thread sends its own numbered sequence, through a different entry
 * point: send (JsonNode), send_text, broadcast to a room, broadcast_text. */
static gpointer
sender_thread (gpointer user_data)
{
  Sender *sender = user_data;

  for (guint i = sender->first; i < sender->first + N_PER_THREAD; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"seq\",\"t\":%u,\"n\":%u}",
                                               sender->thread_no, i);
      g_autoptr(JsonNode) node = owl_test_json_parse (text);
      g_autoptr(GError) error = NULL;
      gboolean sent = TRUE;

      switch (sender->thread_no)
        {
        case 0:
          sent = owl_connection_send (sender->conn, node, &error);
          break;
        case 1:
          sent = owl_connection_send_text (sender->conn, text, &error);
          break;
        case 2:
          owl_socket_service_broadcast (sender->service, "threads", node, NULL);
          break;
        default:
          owl_socket_service_broadcast_text (sender->service, "threads", text, NULL);
          break;
        }
      g_assert_no_error (error);
      g_assert_true (sent);
    }
  return NULL;
}

static void
test_threads_send (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  Sender senders[N_THREADS];
  GThread *threads[N_THREADS];
  GArray *seqs[N_THREADS];
  int first_wrong[N_THREADS];
  OwlTestClient *client;
  OwlConnection *conn;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  owl_connection_join (conn, "threads");

  for (guint t = 0; t < N_THREADS; t++)
    {
      senders[t].service = fixture->service;
      senders[t].conn = conn;
      senders[t].thread_no = t;
    }
  /* A few passes, as the races depend on when the threads meet the
   * service's main context between iterations. */
  for (guint pass = 0; pass < N_PASSES; pass++)
    {
      for (guint t = 0; t < N_THREADS; t++)
        {
          senders[t].first = pass * N_PER_THREAD;
          threads[t] = g_thread_new ("owl-test-sender", sender_thread, &senders[t]);
        }
      OWL_TEST_WAIT_FOR_MS (client->texts->len >= (pass + 1) * N_THREADS * N_PER_THREAD, 30000);
      for (guint t = 0; t < N_THREADS; t++)
        g_thread_join (threads[t]);
    }
  owl_test_drain ();
  g_assert_cmpuint (client->texts->len, ==, N_PASSES * N_THREADS * N_PER_THREAD);

  /* Each thread's messages arrive complete and in its own order. */
  for (guint t = 0; t < N_THREADS; t++)
    seqs[t] = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < client->texts->len; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (client->texts, i));
      gint64 t = owl_test_json_get_int (node, "t");
      gint64 n = owl_test_json_get_int (node, "n");

      g_assert_cmpint (t, >=, 0);
      g_assert_cmpint (t, <, N_THREADS);
      g_array_append_val (seqs[t], n);
    }
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_test_message ("thread %u (%s): %u frames", t, entry_points[t], seqs[t]->len);
      g_assert_cmpuint (seqs[t]->len, ==, N_PASSES * N_PER_THREAD);
    }
  /* Report every thread before failing on the first. */
  for (guint t = 0; t < N_THREADS; t++)
    {
      first_wrong[t] = -1;
      for (guint i = 0; i < N_PASSES * N_PER_THREAD && first_wrong[t] < 0; i++)
        if (g_array_index (seqs[t], gint64, i) != i)
          first_wrong[t] = i;
      if (first_wrong[t] >= 0)
        g_test_message ("thread %u (%s): out of order: frame #%d of the thread is n=%" G_GINT64_FORMAT,
                        t, entry_points[t], first_wrong[t],
                        g_array_index (seqs[t], gint64, first_wrong[t]));
    }
  for (guint t = 0; t < N_THREADS; t++)
    {
      g_assert_cmpint (first_wrong[t], ==, -1);
      g_array_unref (seqs[t]);
    }
  g_assert_cmpuint (client->n_closed, ==, 0);
  g_assert_cmpuint (owl_test_record_get (conn)->n_closed, ==, 0);
}

static gpointer
closer_thread (gpointer user_data)
{
  OwlConnection *conn = user_data;

  for (guint i = 0; i < N_PER_THREAD; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"type\":\"last-words\",\"n\":%u}", i);
      g_autoptr(GError) error = NULL;
      gboolean sent = owl_connection_send_text (conn, text, &error);

      g_assert_no_error (error);
      g_assert_true (sent);
    }
  owl_connection_close (conn, 4003, "from a thread");
  return NULL;
}

static void
test_threads_close (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient *client;
  OwlConnection *conn;
  OwlTestRecord *record;
  GThread *thread;

  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);

  thread = g_thread_new ("owl-test-closer", closer_thread, conn);
  owl_test_client_wait_closed (client);
  g_thread_join (thread);
  g_assert_cmpuint (client->close_code, ==, 4003);
  g_assert_cmpstr (client->close_data, ==, "from a thread");
  /* What the thread sent before closing all went out first, in order. */
  g_assert_cmpuint (client->texts->len, ==, N_PER_THREAD);
  for (guint i = 0; i < N_PER_THREAD; i++)
    {
      g_autoptr(JsonNode) node = owl_test_json_parse (g_ptr_array_index (client->texts, i));

      g_assert_cmpint (owl_test_json_get_int (node, "n"), ==, i);
    }

  owl_test_record_wait_closed (conn);
  owl_test_drain ();
  record = owl_test_record_get (conn);
  g_assert_cmpuint (record->n_closed, ==, 1);
  g_assert_cmpuint (record->close_code, ==, 4003);
  /* Signals come on the service's main context, not the caller's thread. */
  g_assert_false (record->closed_on_other_thread);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/threads/send", test_threads_send);
  OWL_TEST ("/owl/threads/close", test_threads_close);

  return g_test_run ();
}
