/* test-access-log.c: OwlSocketService:access-log, one structured line per
 * connection opened and closed, off by default, never a token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-util.h"
#include "owl-jwt-private.h"

#define SECRET "access-log-test-secret-of-32-bytes-at-least"

static GPtrArray *records;     /* GHashTable field -> value, one per access line */
static GString *every_line;    /* every field of every line, any domain */

/* Keeps the access lines apart and every line's text; what the default
 * writer would print of the rest still goes there (debug and info lines
 * not: on stdout they would break the TAP stream). */
static GLogWriterOutput
writer (GLogLevelFlags   level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  g_autoptr(GHashTable) record = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (gsize i = 0; i < n_fields; i++)
    if (fields[i].length < 0)
      {
        g_hash_table_insert (record, g_strdup (fields[i].key), g_strdup (fields[i].value));
        g_string_append_printf (every_line, "%s=%s\n", fields[i].key, (const char *) fields[i].value);
      }
  if (g_strcmp0 (g_hash_table_lookup (record, "GLIB_DOMAIN"), "owlsock-access") == 0)
    {
      g_ptr_array_add (records, g_steal_pointer (&record));
      return G_LOG_WRITER_HANDLED;
    }
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
setup (OwlTestFixture *fixture,
       gconstpointer   data)
{
  g_ptr_array_set_size (records, 0);
  g_string_truncate (every_line, 0);
  owl_test_fixture_setup (fixture, data);
}

#define TEST(path, func) \
  g_test_add (path, OwlTestFixture, NULL, setup, func, owl_test_fixture_teardown)

static const char *
field (guint       index,
       const char *key)
{
  return g_hash_table_lookup (g_ptr_array_index (records, index), key);
}

static guint64
field_u64 (guint       index,
           const char *key)
{
  guint64 n = 0;

  g_assert_nonnull (field (index, key));
  g_assert_true (g_ascii_string_to_unsigned (field (index, key), 10, 0, G_MAXUINT64, &n, NULL));
  return n;
}

/* The fields both lines carry. */
static void
assert_who (guint          index,
            const char    *event,
            OwlConnection *conn,
            const char    *user)
{
  g_assert_cmpstr (field (index, "OWL_EVENT"), ==, event);
  g_assert_cmpstr (field (index, "PRIORITY"), ==, "5");
  g_assert_cmpstr (field (index, "OWL_CONNECTION_ID"), ==, owl_connection_get_id (conn));
  g_assert_cmpstr (field (index, "OWL_MODULE"), ==, owl_module_get_alias (owl_connection_get_module (conn)));
  g_assert_cmpstr (field (index, "OWL_PEER"), ==, "127.0.0.1");
  g_assert_cmpstr (field (index, "OWL_USER"), ==, user);
  g_assert_true (g_str_has_prefix (field (index, "MESSAGE"), event));
  g_assert_nonnull (strstr (field (index, "MESSAGE"), owl_connection_get_id (conn)));
}

static char *
mint (const char *sub)
{
  g_autofree char *claims = g_strdup_printf ("{\"sub\":\"%s\",\"exp\":%" G_GINT64_FORMAT "}",
                                             sub, g_get_real_time () / G_USEC_PER_SEC + 3600);
  g_autoptr(JsonNode) node = owl_test_json_parse (claims);
  g_autoptr(GError) error = NULL;
  char *token = owl_jwt_sign (OWL_JWT_HS256, NULL, (const guint8 *) SECRET, strlen (SECRET),
                              json_node_get_object (node), &error);

  g_assert_no_error (error);
  return token;
}

/* Off by default: a connection opens, talks and closes, and no access
 * line comes. Switched on, the next connection's line comes, with `-` for
 * a connection without a user. */
static void
test_access_log_off_by_default (OwlTestFixture *fixture,
                                gconstpointer   data)
{
  gboolean on = TRUE;
  OwlTestClient *client;
  OwlConnection *conn;

  g_object_get (fixture->service, "access-log", &on, NULL);
  g_assert_false (on);
  owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  owl_test_client_send (client, "{\"type\":\"x\"}");
  owl_test_client_wait_texts (client, 1);
  owl_connection_close (conn, OWL_CLOSE_NORMAL, NULL);
  owl_test_record_wait_closed (conn);
  owl_test_client_wait_closed (client);
  g_assert_cmpuint (records->len, ==, 0);

  g_object_set (fixture->service, "access-log", TRUE, NULL);
  owl_test_client_connect (fixture, "/ws/echo");
  conn = owl_test_fixture_wait_accepted (fixture, 1);
  OWL_TEST_WAIT_FOR (records->len == 1);
  assert_who (0, "open", conn, "-");
}

/* A guarded connection with a token in the header (the one used), the
 * query and a subprotocol: the open line names its user, the close line
 * its code, duration and traffic, and no line of any domain holds a token. */
static void
test_access_log_open_close (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  const char *sent[] = { "{\"type\":\"a\"}", "{\"type\":\"bb\",\"n\":[1,2,3]}" };
  const char *guards[] = { "jwt", NULL };
  g_autofree char *header_token = mint ("alice");
  g_autofree char *query_token = mint ("query-user");
  g_autofree char *protocol_token = mint ("protocol-user");
  g_autofree char *protocol = g_strconcat ("owlsock.bearer.", protocol_token, NULL);
  char *protocols[] = { protocol, NULL };
  g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *bearer = g_strconcat ("Bearer ", header_token, NULL);
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  guint64 bytes = 0;
  gint64 start;
  OwlTestClient *client;
  OwlConnection *conn;

  owl_jwt_guard_add_secret (OWL_JWT_GUARD (guard), NULL, (const guint8 *) SECRET, strlen (SECRET), &error);
  g_assert_no_error (error);
  owl_socket_service_add_guard (fixture->service, "jwt", guard, &error);
  g_assert_no_error (error);
  owl_test_fixture_add_echo_module_with (fixture, "secure", "/ws/secure", "guards", guards, NULL);
  g_object_set (fixture->service, "access-log", TRUE, NULL);
  owl_test_fixture_listen (fixture);

  start = g_get_monotonic_time ();
  uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/secure?token=%s", fixture->port, query_token);
  msg = soup_message_new ("GET", uri);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
  client = owl_test_client_connect_protocols (fixture, msg, NULL, protocols);
  owl_test_client_wait_done (client);
  g_assert_no_error (client->connect_error);
  conn = owl_test_fixture_wait_accepted (fixture, 0);
  OWL_TEST_WAIT_FOR (records->len == 1);
  assert_who (0, "open", conn, "alice");

  for (guint i = 0; i < G_N_ELEMENTS (sent); i++)
    {
      owl_test_client_send (client, sent[i]);
      bytes += strlen (sent[i]);
    }
  owl_test_client_wait_texts (client, G_N_ELEMENTS (sent));
  owl_connection_close (conn, 4000, "bye");
  OWL_TEST_WAIT_FOR (records->len == 2);

  g_test_message ("%s", field (0, "MESSAGE"));
  g_test_message ("%s", field (1, "MESSAGE"));
  assert_who (1, "close", conn, "alice");
  g_assert_cmpuint (field_u64 (1, "OWL_CLOSE_CODE"), ==, 4000);
  g_assert_cmpuint (field_u64 (1, "OWL_MESSAGES_IN"), ==, G_N_ELEMENTS (sent));
  g_assert_cmpuint (field_u64 (1, "OWL_BYTES_IN"), ==, bytes);
  /* The echo module sends each message back as it came. */
  g_assert_cmpuint (field_u64 (1, "OWL_MESSAGES_OUT"), ==, G_N_ELEMENTS (sent));
  g_assert_cmpuint (field_u64 (1, "OWL_BYTES_OUT"), ==, bytes);
  g_assert_cmpuint (field_u64 (1, "OWL_DURATION_MS"), <=, (g_get_monotonic_time () - start) / 1000);

  g_assert_null (strstr (every_line->str, header_token));
  g_assert_null (strstr (every_line->str, query_token));
  g_assert_null (strstr (every_line->str, protocol_token));
}

int
main (int   argc,
      char *argv[])
{
  /* Every line is made, so the token check reads the debug ones too. */
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  every_line = g_string_new (NULL);
  g_log_set_writer_func (writer, NULL, NULL);
  owl_test_init (&argc, &argv);

  TEST ("/owl/access-log/off-by-default", test_access_log_off_by_default);
  TEST ("/owl/access-log/open-close", test_access_log_open_close);

  return g_test_run ();
}
