/* test-scale.c: a thousand connections echoing at once
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-util.h"

#include <sys/resource.h>

#define N_CLIENTS 1000
/* Handshakes in flight at once: enough to be concurrent, few enough not to
 * overflow the listen backlog into SYN retransmits. */
#define CONNECT_WINDOW 200

/* Each connection needs two descriptors here (client and server side). */
static gboolean
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
    return FALSE;
  if (limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
        return FALSE;
    }
  return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= 2 * N_CLIENTS + 256;
}

static guint
count_done (OwlTestClient **clients,
            guint           n)
{
  guint done = 0;

  for (guint i = 0; i < n; i++)
    if (clients[i]->done)
      done++;
  return done;
}

static guint
count_answered (OwlTestClient **clients)
{
  guint answered = 0;

  for (guint i = 0; i < N_CLIENTS; i++)
    if (clients[i]->texts->len > 0)
      answered++;
  return answered;
}

static void
test_thousand_echo (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestClient **clients = g_new0 (OwlTestClient *, N_CLIENTS);
  guint started = 0;

  if (!raise_fd_limit ())
    {
      g_test_skip ("RLIMIT_NOFILE too low for 1000 connections");
      g_free (clients);
      return;
    }

  /* Every client comes from 127.0.0.1: lift the per-address cap. */
  g_object_set (fixture->service, "max-connections-per-ip", N_CLIENTS, NULL);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo/:n");
  owl_test_fixture_listen (fixture);

  while (started < N_CLIENTS)
    {
      guint done = count_done (clients, started);

      for (; started < N_CLIENTS && started - done < CONNECT_WINDOW; started++)
        {
          g_autofree char *path = g_strdup_printf ("/ws/echo/%u", started);

          clients[started] = owl_test_client_connect_begin (fixture, fixture->port, path, NULL);
        }
      OWL_TEST_WAIT_FOR_MS (count_done (clients, started) > done || started == N_CLIENTS, 30000);
    }
  OWL_TEST_WAIT_FOR_MS (count_done (clients, N_CLIENTS) == N_CLIENTS, 30000);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_assert_no_error (clients[i]->connect_error);
      g_assert_nonnull (clients[i]->ws);
    }
  OWL_TEST_WAIT_FOR_MS (fixture->accepted->len == N_CLIENTS, 30000);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, N_CLIENTS);

  /* All of them at once. */
  for (guint i = 0; i < N_CLIENTS; i++)
    owl_test_client_send_printf (clients[i], "{\"type\":\"echo\",\"i\":%u}", i);
  OWL_TEST_WAIT_FOR_MS (count_answered (clients) == N_CLIENTS, 30000);

  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_autoptr(JsonNode) reply = owl_test_json_parse (g_ptr_array_index (clients[i]->texts, 0));

      g_assert_cmpuint (clients[i]->texts->len, ==, 1);
      g_assert_cmpint (owl_test_json_get_int (reply, "i"), ==, i);
      g_assert_cmpuint (clients[i]->n_closed, ==, 0);
    }
  g_free (clients);
}

int
main (int   argc,
      char *argv[])
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/scale/thousand-echo", test_thousand_echo);

  return g_test_run ();
}
