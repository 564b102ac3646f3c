/* test-recovery.c: the `recover` handshake parameter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A client that reconnects naming its last position gets what it missed
 * (in order, each with its pos), then `joined` with `recovered: true` and
 * how many it missed, then the live broadcasts; a gap no longer in history
 * or another epoch gives `recovered: false` and no replay; a bad value is
 * refused with 400 and the same JSON body; a broker that answers later
 * loses and repeats nothing of what was broadcast meanwhile.
 */

#include "owl-test-history.h"

#define BAD_RECOVER_BODY "{\"code\":\"validation\",\"message\":\"The recover parameter is not valid\"}"

/* An observer in lobby and @n broadcasts it saw: their epoch. */
static char *
publish_seen (OwlTestFixture *fixture,
              OwlTestClient  *observer,
              guint           first,
              guint           n)
{
  char *epoch = NULL;

  for (guint i = first; i < first + n; i++)
    owl_test_history_broadcast (fixture, "lobby", i);
  for (guint i = first; i < first + n; i++)
    {
      g_free (epoch);
      epoch = owl_test_history_assert_pub (observer, i, "lobby", i, NULL, i);
    }
  return epoch;
}

/* A module keeping @history_size, an observer in lobby that saw its
 * `joined` then @n broadcasts: their epoch. */
static char *
start_observed (OwlTestFixture  *fixture,
                guint            history_size,
                guint            n,
                OwlTestClient  **observer)
{
  owl_test_history_module (fixture, "h", "/ws/h/:room", history_size, FALSE);
  owl_test_fixture_listen (fixture);
  *observer = owl_test_client_connect (fixture, "/ws/h/lobby");
  owl_test_client_wait_texts (*observer, 1);
  return publish_seen (fixture, *observer, 1, n);
}

/* A client on @path whose join the slow broker answers at once. */
static OwlTestClient *
connect_released (OwlTestFixture    *fixture,
                  OwlTestSlowBroker *broker,
                  const char        *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);

  OWL_TEST_WAIT_FOR (owl_test_slow_broker_n_held (broker) == 1);
  owl_test_slow_broker_release (broker);
  owl_test_history_assert_joined (client, 0, "lobby", "", 0, NULL, 0);
  return client;
}

static OwlTestClient *
connect_recovering (OwlTestFixture *fixture,
                    guint64         offset,
                    const char     *epoch)
{
  g_autofree char *value = g_strdup_printf ("{\"lobby\":{\"offset\":%" G_GUINT64_FORMAT ",\"epoch\":\"%s\"}}",
                                            offset, epoch);
  g_autofree char *path = owl_test_history_recover_path ("/ws/h/lobby", value);

  return owl_test_client_connect (fixture, path);
}

static void
test_recover_gap (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  OwlTestClient *observer, *back;
  g_autofree char *epoch = NULL;

  epoch = start_observed (fixture, 10, 5, &observer);

  /* It saw up to 3: 4 and 5 come back in order, then joined, then live. */
  back = connect_recovering (fixture, 3, epoch);
  g_free (owl_test_history_assert_pub (back, 0, "lobby", 4, epoch, 4));
  g_free (owl_test_history_assert_pub (back, 1, "lobby", 5, epoch, 5));
  owl_test_history_assert_joined (back, 2, "lobby", epoch, 5, "true", 2);
  owl_test_history_broadcast (fixture, "lobby", 6);
  g_free (owl_test_history_assert_pub (back, 3, "lobby", 6, epoch, 6));

  /* Up to date: recovered, nothing missed. */
  back = connect_recovering (fixture, 6, epoch);
  owl_test_history_assert_joined (back, 0, "lobby", epoch, 6, "true", 0);
}

/* `recover` is owlsock's own: a strict query schema does not see it (a
 * reconnecting client adds it by itself), and still refuses the rest. */
static void
test_recover_query_schema (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  g_autoptr(OwlSchema) strict = owl_schema_new_from_string ("{\"type\":\"object\",\"additionalProperties\":false}",
                                                            NULL);
  OwlModule *module = owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  g_autofree char *epoch = NULL;
  g_autofree char *body = NULL;
  OwlTestClient *observer, *back;

  g_object_set (module, "query-schema", strict, NULL);
  owl_test_fixture_listen (fixture);
  observer = owl_test_client_connect (fixture, "/ws/h/lobby");
  owl_test_client_wait_texts (observer, 1);
  epoch = publish_seen (fixture, observer, 1, 2);

  back = connect_recovering (fixture, 1, epoch);
  g_free (owl_test_history_assert_pub (back, 0, "lobby", 2, epoch, 2));
  owl_test_history_assert_joined (back, 1, "lobby", epoch, 2, "true", 1);

  g_assert_cmpuint (owl_test_http_get (fixture->session, fixture->port, "/ws/h/lobby?x=1", TRUE, &body), ==, 400);
  g_assert_nonnull (strstr (body, "The query does not match the schema"));
}

/* The recover parameter serves the first join of its room: a second join
 * is told the position alone. */
static void
test_recover_once (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  OwlTestClient *observer, *back;
  OwlConnection *conn;
  g_autofree char *epoch = NULL;

  epoch = start_observed (fixture, 10, 2, &observer);
  back = connect_recovering (fixture, 1, epoch);
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  g_free (owl_test_history_assert_pub (back, 0, "lobby", 2, epoch, 2));
  owl_test_history_assert_joined (back, 1, "lobby", epoch, 2, "true", 1);
  owl_connection_leave (conn, "lobby");
  owl_connection_join (conn, "lobby");
  owl_test_history_assert_joined (back, 2, "lobby", epoch, 2, NULL, 0);
}

/* history-size 2 and 5 missed: not recovered, no replay, then live. */
static void
test_recover_too_short (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  OwlTestClient *observer, *back;
  g_autofree char *epoch = NULL;

  epoch = start_observed (fixture, 2, 6, &observer);

  back = connect_recovering (fixture, 1, epoch);
  owl_test_history_assert_joined (back, 0, "lobby", epoch, 6, "false", 0);
  owl_test_history_broadcast (fixture, "lobby", 7);
  g_free (owl_test_history_assert_pub (back, 1, "lobby", 7, epoch, 7));

  /* The last two are still there. */
  back = connect_recovering (fixture, 5, epoch);
  g_free (owl_test_history_assert_pub (back, 0, "lobby", 6, epoch, 6));
  g_free (owl_test_history_assert_pub (back, 1, "lobby", 7, epoch, 7));
  owl_test_history_assert_joined (back, 2, "lobby", epoch, 7, "true", 2);
}

static void
test_recover_wrong_epoch (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlTestClient *observer, *back;
  g_autofree char *epoch = NULL;

  epoch = start_observed (fixture, 10, 2, &observer);

  back = connect_recovering (fixture, 1, "another");
  owl_test_history_assert_joined (back, 0, "lobby", epoch, 2, "false", 0);
  /* An offset past the top is no position of this epoch either. */
  back = connect_recovering (fixture, 9, epoch);
  owl_test_history_assert_joined (back, 0, "lobby", epoch, 2, "false", 0);
}

static void
test_recover_bad (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  static const char * const raw_bad[] = {
    "%7B%22lobby%22%3A%7B%22offset%22%3A1%2C%22epoch%22%3A%22%FF%22%7D%7D",  /* invalid UTF-8 */
    "%7B%7D%00",                                                              /* a NUL */
  };
  g_autoptr(GString) many = g_string_new ("{");
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autofree char *long_epoch = g_strnfill (65, 'e');
  g_autofree char *too_long = g_strdup_printf ("{\"a\":{\"offset\":1,\"epoch\":\"%s\"}}", long_epoch);
  OwlTestClient *observer;
  const char *bad[7];

  for (guint i = 0; i < 65; i++)
    g_string_append_printf (many, "%s\"r%u\":{\"offset\":0,\"epoch\":\"\"}", i ? "," : "", i);
  g_string_append_c (many, '}');
  for (guint i = 0; i < 1000; i++)
    g_string_append_c (deep, '[');
  bad[0] = "not json";
  bad[1] = "[1]";
  bad[2] = many->str;
  bad[3] = "{\"a\":{\"offset\":-1,\"epoch\":\"\"}}";
  bad[4] = too_long;
  bad[5] = deep->str;
  bad[6] = "{\"a\":{\"offset\":1.5,\"epoch\":\"\"}}";

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);
  observer = owl_test_client_connect (fixture, "/ws/h/lobby");
  owl_test_client_wait_texts (observer, 1);

  for (guint i = 0; i < G_N_ELEMENTS (bad) + G_N_ELEMENTS (raw_bad); i++)
    {
      g_autofree char *path = i < G_N_ELEMENTS (bad)
        ? owl_test_history_recover_path ("/ws/h/lobby", bad[i])
        : g_strdup_printf ("/ws/h/lobby?recover=%s", raw_bad[i - G_N_ELEMENTS (bad)]);
      g_autofree char *body = NULL;
      guint status = owl_test_http_get (fixture->session, fixture->port, path, TRUE, &body);

      g_test_message ("bad recover value %u", i);
      g_assert_cmpuint (status, ==, 400);
      g_assert_cmpstr (body, ==, BAD_RECOVER_BODY);
    }

  /* Each was counted as the recover refusal. */
  {
    g_autoptr(GVariant) stats = owl_socket_service_dup_stats (fixture->service);
    g_autoptr(GVariant) rejected = g_variant_lookup_value (stats, "rejected", G_VARIANT_TYPE ("a{st}"));
    guint64 n = 0;

    g_assert_true (g_variant_lookup (rejected, "recover", "t", &n));
    g_assert_cmpuint (n, ==, G_N_ELEMENTS (bad) + G_N_ELEMENTS (raw_bad));
  }

  /* Nobody else noticed; 64 rooms are fine. */
  owl_test_history_broadcast (fixture, "lobby", 1);
  g_free (owl_test_history_assert_pub (observer, 1, "lobby", 1, NULL, 1));
  {
    g_autoptr(GString) most = g_string_new ("{");
    g_autofree char *path = NULL;
    OwlTestClient *fine;

    for (guint i = 0; i < 64; i++)
      g_string_append_printf (most, "%s\"r%u\":{\"offset\":0,\"epoch\":\"\"}", i ? "," : "", i);
    g_string_append_c (most, '}');
    path = owl_test_history_recover_path ("/ws/h/r7", most->str);
    fine = owl_test_client_connect (fixture, path);
    owl_test_history_assert_joined (fine, 0, "r7", "", 0, "true", 0);
  }
}

/* The broker answers recover() later: what is broadcast meanwhile is held
 * and comes after the replay and `joined`, once each. */
static void
test_recover_later (OwlTestFixture *fixture,
                    gconstpointer   data)
{
  OwlTestSlowBroker *broker = owl_test_slow_broker_install (fixture);
  OwlTestClient *observer, *back;
  g_autofree char *epoch = NULL;

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);
  observer = connect_released (fixture, broker, "/ws/h/lobby");
  epoch = publish_seen (fixture, observer, 1, 3);

  /* History is read at 3; 4 and 5 come before the answer. */
  back = connect_recovering (fixture, 1, epoch);
  OWL_TEST_WAIT_FOR (owl_test_slow_broker_n_held (broker) == 1);
  g_free (publish_seen (fixture, observer, 4, 2));
  owl_test_slow_broker_release (broker);
  owl_test_history_broadcast (fixture, "lobby", 6);

  g_free (owl_test_history_assert_pub (back, 0, "lobby", 2, epoch, 2));
  g_free (owl_test_history_assert_pub (back, 1, "lobby", 3, epoch, 3));
  owl_test_history_assert_joined (back, 2, "lobby", epoch, 3, "true", 2);
  for (guint i = 4; i <= 6; i++)
    g_free (owl_test_history_assert_pub (back, i - 1, "lobby", i, epoch, i));
  g_free (owl_test_history_assert_pub (observer, 6, "lobby", 6, epoch, 6));
  g_assert_cmpuint (back->texts->len, ==, 6);
}

/* The member goes before the answer: the answer finds nobody. */
static void
test_recover_later_gone (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  OwlTestSlowBroker *broker = owl_test_slow_broker_install (fixture);
  OwlTestClient *observer, *back;
  OwlConnection *conn;

  owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);
  observer = connect_released (fixture, broker, "/ws/h/lobby");

  back = connect_recovering (fixture, 0, "");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  OWL_TEST_WAIT_FOR (owl_test_slow_broker_n_held (broker) == 1);
  owl_test_history_broadcast (fixture, "lobby", 1);
  owl_connection_close (conn, 1000, NULL);
  owl_test_record_wait_closed (conn);
  owl_test_client_wait_closed (back);
  owl_test_slow_broker_release (broker);
  g_assert_cmpuint (back->texts->len, ==, 0);

  g_free (owl_test_history_assert_pub (observer, 1, "lobby", 1, NULL, 1));
  owl_test_history_broadcast (fixture, "lobby", 2);
  g_free (owl_test_history_assert_pub (observer, 2, "lobby", 2, NULL, 2));

  /* One still waiting when the service goes is answered then (teardown). */
  connect_recovering (fixture, 0, "");
  OWL_TEST_WAIT_FOR (owl_test_slow_broker_n_held (broker) == 1);
}

/* Held broadcasts past max-buffered-amount: closed with 1013. */
static void
test_recover_overflow (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  OwlTestSlowBroker *broker = owl_test_slow_broker_install (fixture);
  OwlModule *module;
  OwlTestClient *observer, *back;

  /* The observer's module has the default bound. */
  module = owl_test_history_module (fixture, "h", "/ws/h/:room", 10, FALSE);
  g_object_set (module, "max-buffered-amount", (gint64) 100, NULL);
  owl_test_history_module (fixture, "o", "/ws/o/:room", 10, FALSE);
  owl_test_fixture_listen (fixture);
  observer = connect_released (fixture, broker, "/ws/o/lobby");

  back = connect_recovering (fixture, 0, "");
  OWL_TEST_WAIT_FOR (owl_test_slow_broker_n_held (broker) == 1);
  for (guint i = 1; i <= 4; i++)
    owl_test_history_broadcast (fixture, "lobby", i);
  owl_test_client_wait_closed (back);
  g_assert_cmpuint (back->close_code, ==, 1013);
  g_assert_cmpuint (back->texts->len, ==, 0);
  owl_test_slow_broker_release (broker);

  for (guint i = 1; i <= 4; i++)
    g_free (owl_test_history_assert_pub (observer, i, "lobby", i, NULL, i));
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/recovery/gap", test_recover_gap);
  OWL_TEST ("/recovery/once", test_recover_once);
  OWL_TEST ("/recovery/query-schema", test_recover_query_schema);
  OWL_TEST ("/recovery/too-short", test_recover_too_short);
  OWL_TEST ("/recovery/wrong-epoch", test_recover_wrong_epoch);
  OWL_TEST ("/recovery/bad", test_recover_bad);
  OWL_TEST ("/recovery/later", test_recover_later);
  OWL_TEST ("/recovery/later-gone", test_recover_later_gone);
  OWL_TEST ("/recovery/overflow", test_recover_overflow);

  return g_test_run ();
}
