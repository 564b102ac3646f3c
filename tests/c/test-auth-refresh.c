/* test-auth-refresh.c: token refresh and expiry, and a refresh that never
 * ends, over real libsoup clients (guards and gates: test-auth.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-auth.h"

/* Token refresh and expiry --------------------------------------------------- */

static JsonNode *
wait_for_type (OwlTestClient *client,
               guint         *index,
               const char    *type)
{
  for (;;)
    {
      JsonNode *node = owl_test_client_wait_json (client, *index);

      (*index)++;
      if (g_strcmp0 (owl_test_json_get_string (node, "type"), type) == 0)
        return node;
      json_node_unref (node);
    }
}

/* Sends @token as a refresh with @id: it is refused as `forbidden` with
 * exactly @message, and the connection keeps the auth it had. */
static void
assert_refresh_forbidden (OwlTestClient *client,
                          guint         *index,
                          OwlConnection *connection,
                          gint           id,
                          const char    *token,
                          const char    *message)
{
  OwlAuth *before = owl_connection_get_auth (connection);
  g_autoptr(JsonNode) refused = NULL;
  g_autofree char *payload = NULL;

  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"id\":%d,\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", id, token);
  refused = wait_for_type (client, index, "error");
  g_assert_cmpstr (owl_test_json_get_string (refused, "code"), ==, "forbidden");
  g_assert_cmpint (owl_test_json_get_int (refused, "id"), ==, id);
  /* The payload is "<type>|||<message>". */
  payload = g_strconcat ("|||", message, NULL);
  g_assert_true (g_str_has_suffix (owl_test_json_get_string (refused, "payload"), payload));
  g_assert_true (owl_connection_get_auth (connection) == before);
}

static void
test_auth_refresh (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autofree char *first = mint ("alice", 300, "\"scope\":\"chat\"");
  g_autofree char *renewed = mint ("alice", 3600, "\"scope\":\"chat admin\"");
  g_autofree char *other = mint ("bob", 3600, NULL);
  g_autofree char *expired = mint ("alice", -300, NULL);
  OwlTestClient *client;
  OwlConnection *connection;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonNode) invalid = NULL;
  g_autoptr(JsonNode) malformed = NULL;
  guint index = 0;
  gint64 expires_at;

  add_jwt_guard (fixture, "jwt");
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/echo", first);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  g_assert_false (owl_auth_has_scope (owl_connection_get_auth (connection), "admin"));

  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"id\":7,\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", renewed);
  answer = wait_for_type (client, &index, "auth");
  g_assert_cmpstr (owl_test_json_get_string (answer, "stage"), ==, "authenticated");
  g_assert_cmpint (owl_test_json_get_int (answer, "id"), ==, 7);
  {
    JsonObject *payload = json_object_get_object_member (json_node_get_object (answer), "payload");

    g_assert_cmpstr (json_object_get_string_member (payload, "userId"), ==, "alice");
    expires_at = json_object_get_int_member (payload, "expiresAt");
    g_assert_cmpint (expires_at, >=, now_s () + 3000);
  }
  g_assert_true (owl_auth_has_scope (owl_connection_get_auth (connection), "admin"));

  /* Another user's token: refused, and alice stays alice. */
  assert_refresh_forbidden (client, &index, connection, 8, other, "The token is for another user");
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "alice");

  /* An invalid token: refused with the guard's reason. */
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", expired);
  invalid = wait_for_type (client, &index, "error");
  g_assert_cmpstr (owl_test_json_get_string (invalid, "code"), ==, "auth-failed");
  g_assert_nonnull (strstr (owl_test_json_get_string (invalid, "payload"), "Token expired"));
  g_assert_cmpint (owl_auth_get_expires_at (owl_connection_get_auth (connection)), ==, expires_at);

  owl_test_client_send (client, "{\"type\":\"auth\",\"stage\":\"hello\"}");
  malformed = wait_for_type (client, &index, "error");
  g_assert_cmpstr (owl_test_json_get_string (malformed, "code"), ==, "malformed");

  assert_echoes (client);
}

/* The same user acting for another entity is refused like another user:
 * a token whose entity differs, or that has none where the connection had
 * one, or one where it had none. */
static void
test_auth_refresh_entity (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autofree char *first = mint ("alice", 300, "\"ent\":\"org-1\"");
  g_autofree char *other = mint ("alice", 3600, "\"ent\":\"org-2\",\"scope\":\"admin\"");
  g_autofree char *other_profile = mint ("alice", 3600, "\"profileId\":\"org-2\"");
  g_autofree char *without = mint ("alice", 3600, "\"scope\":\"admin\"");
  g_autofree char *same = mint ("alice", 3600, "\"entityId\":\"org-1\",\"scope\":\"admin\"");
  g_autofree char *plain_first = mint ("alice", 300, NULL);
  g_autofree char *plain_renewed = mint ("alice", 3600, NULL);
  OwlTestClient *client, *plain;
  OwlConnection *connection, *plain_connection;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(JsonNode) plain_answer = NULL;
  OwlAuth *auth;
  guint index = 0, plain_index = 0;

  add_jwt_guard (fixture, "jwt");
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/echo", first);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  auth = owl_connection_get_auth (connection);
  g_assert_cmpstr (owl_auth_get_entity_id (auth), ==, "org-1");

  assert_refresh_forbidden (client, &index, connection, 1, other, "The token is for another entity");
  assert_refresh_forbidden (client, &index, connection, 2, other_profile, "The token is for another entity");
  assert_refresh_forbidden (client, &index, connection, 3, without, "The token is for another entity");
  g_assert_true (owl_connection_get_auth (connection) == auth);
  g_assert_cmpstr (owl_auth_get_entity_id (auth), ==, "org-1");
  g_assert_false (owl_auth_has_scope (auth, "admin"));
  assert_echoes (client);

  /* The same entity under another claim name is the same entity. */
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"id\":4,\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", same);
  answer = wait_for_type (client, &index, "auth");
  g_assert_cmpstr (owl_test_json_get_string (answer, "stage"), ==, "authenticated");
  g_assert_cmpstr (owl_auth_get_entity_id (owl_connection_get_auth (connection)), ==, "org-1");
  g_assert_true (owl_auth_has_scope (owl_connection_get_auth (connection), "admin"));

  /* A connection opened without entity may not gain one. */
  plain = connect_with_header (fixture, "/ws/echo", plain_first);
  plain_connection = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_null (owl_auth_get_entity_id (owl_connection_get_auth (plain_connection)));
  assert_refresh_forbidden (plain, &plain_index, plain_connection, 5, first, "The token is for another entity");
  g_assert_null (owl_auth_get_entity_id (owl_connection_get_auth (plain_connection)));
  owl_test_client_send_printf (plain, "{\"type\":\"auth\",\"id\":6,\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", plain_renewed);
  plain_answer = wait_for_type (plain, &plain_index, "auth");
  g_assert_cmpstr (owl_test_json_get_string (plain_answer, "stage"), ==, "authenticated");

  assert_echoes (client);
  assert_echoes (plain);
}

/* A refresh needs a guard that reads tokens: one that reads a header is not
 * shown the upgrade's headers again, and an open module has no identity to
 * refresh. */
static void
test_auth_refresh_needs_a_token_guard (OwlTestFixture *fixture,
                                       gconstpointer   data)
{
  g_autoptr(OwlGuard) later = test_guard_new ("later");
  const char *keyed[] = { "later", NULL };
  g_autofree char *token = mint ("dave", 300, NULL);
  g_autofree char *uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(JsonNode) refused = NULL;
  g_autoptr(JsonNode) unsupported = NULL;
  OwlTestClient *client, *open;
  guint index = 0;

  owl_socket_service_add_guard (fixture->service, "later", later, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "keyed", "/ws/keyed", "guards", keyed, NULL);
  owl_test_fixture_add_echo_module (fixture, "open", "/ws/open");
  owl_test_fixture_listen (fixture);

  uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/keyed", fixture->port);
  msg = soup_message_new ("GET", uri);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Test-User", "dave");
  client = owl_test_client_connect_msg (fixture, msg, NULL);
  owl_test_client_wait_done (client);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", token);
  refused = wait_for_type (client, &index, "error");
  g_assert_cmpstr (owl_test_json_get_string (refused, "code"), ==, "auth-failed");
  g_assert_nonnull (strstr (owl_test_json_get_string (refused, "payload"), "No guard takes this token"));

  open = owl_test_client_connect (fixture, "/ws/open");
  index = 0;
  owl_test_client_send_printf (open, "{\"type\":\"auth\",\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", token);
  unsupported = wait_for_type (open, &index, "error");
  g_assert_cmpstr (owl_test_json_get_string (unsupported, "code"), ==, "unsupported");

  assert_echoes (client);
  assert_echoes (open);
}

/* A refresh that never ends --------------------------------------------------- */

/* A gate that lets the upgrade through and keeps every later attempt (a
 * token refresh) without answering it. */
typedef struct
{
  OwlGate    parent_instance;
  guint      seen;
  GPtrArray *kept;   /* OwlAttempt */
} OnceGate;

typedef OwlGateClass OnceGateClass;

static GType once_gate_get_type (void);
G_DEFINE_TYPE (OnceGate, once_gate, OWL_TYPE_GATE)

static void
once_gate_authorize (OwlGate    *gate,
                     OwlAttempt *attempt)
{
  OnceGate *self = (OnceGate *) gate;

  if (self->seen++ == 0)
    owl_attempt_accept (attempt, NULL);
  else
    g_ptr_array_add (self->kept, g_object_ref (attempt));
}

static void
once_gate_finalize (GObject *object)
{
  g_ptr_array_unref (((OnceGate *) object)->kept);
  G_OBJECT_CLASS (once_gate_parent_class)->finalize (object);
}

static void
once_gate_class_init (OnceGateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = once_gate_finalize;
  klass->authorize = once_gate_authorize;
}

static void
once_gate_init (OnceGate *self)
{
  self->kept = g_ptr_array_new_with_free_func (g_object_unref);
}

/* A refresh whose gate never answers ends with `timeout` after the
 * handshake timeout, and the connection keeps its identity and works; one
 * under way when the client hangs up is cancelled. */
static void
test_auth_refresh_timeout (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  g_autoptr(OwlGate) gate = g_object_new (once_gate_get_type (), NULL);
  GPtrArray *kept = ((OnceGate *) gate)->kept;
  const char *guards[] = { "jwt", NULL }, *gates[] = { "once", NULL };
  g_autofree char *first = mint ("alice", 300, NULL);
  g_autofree char *renewed = mint ("alice", 3600, NULL);
  g_autoptr(JsonNode) timeout = NULL;
  g_autoptr(JsonNode) busy = NULL;
  g_autoptr(JsonNode) busy_again = NULL;
  OwlTestClient *client;
  OwlConnection *connection;
  guint index = 0;

  g_object_set (fixture->service, "handshake-timeout", 1, NULL);
  add_jwt_guard (fixture, "jwt");
  owl_socket_service_add_gate (fixture->service, "once", gate, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "guards", guards, "gates", gates, NULL);
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/echo", first);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  connection = owl_test_fixture_wait_accepted (fixture, 0);

  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"id\":1,\"stage\":\"authenticate\","
                               "\"payload\":{\"token\":\"%s\"}}", renewed);
  OWL_TEST_WAIT_FOR (kept->len == 1);
  /* One at a time. */
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"id\":2,\"stage\":\"authenticate\","
                               "\"payload\":{\"token\":\"%s\"}}", renewed);
  busy = wait_for_type (client, &index, "error");
  g_assert_cmpint (owl_test_json_get_int (busy, "id"), ==, 2);
  g_assert_cmpstr (owl_test_json_get_string (busy, "code"), ==, "unavailable");

  timeout = wait_for_type (client, &index, "error");
  g_assert_cmpint (owl_test_json_get_int (timeout, "id"), ==, 1);
  g_assert_cmpstr (owl_test_json_get_string (timeout, "code"), ==, "timeout");
  g_assert_true (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 0))));
  g_assert_cmpint (owl_auth_get_expires_at (owl_connection_get_auth (connection)), <, now_s () + 1000);
  assert_echoes (client);

  /* Again, and the client goes away meanwhile. */
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"stage\":\"authenticate\","
                               "\"payload\":{\"token\":\"%s\"}}", renewed);
  OWL_TEST_WAIT_FOR (kept->len == 2);
  /* One at a time, also when neither names an id. */
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"stage\":\"authenticate\","
                               "\"payload\":{\"token\":\"%s\"}}", renewed);
  busy_again = wait_for_type (client, &index, "error");
  g_assert_cmpstr (owl_test_json_get_string (busy_again, "code"), ==, "unavailable");
  g_assert_false (json_object_has_member (json_node_get_object (busy_again), "id"));
  g_assert_cmpuint (kept->len, ==, 2);
  soup_websocket_connection_close (client->ws, 1000, NULL);
  owl_test_record_wait_closed (connection);
  g_assert_true (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 1))));
}

static void
test_auth_expiry (OwlTestFixture *fixture,
                  gconstpointer   data)
{
  g_autofree char *short_lived = mint ("alice", 2, NULL);
  g_autofree char *bystander_token = mint ("bob", 300, NULL);
  OwlTestClient *client, *bystander;
  g_autoptr(JsonNode) notice = NULL;
  JsonObject *payload;
  guint index = 0;

  g_object_set (add_jwt_guard (fixture, "jwt"), "leeway", 0, NULL);
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  bystander = connect_with_header (fixture, "/ws/echo", bystander_token);
  client = connect_with_header (fixture, "/ws/echo", short_lived);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  /* Inside the notice period from the start: told at the next tick. */
  notice = wait_for_type (client, &index, "system");
  g_assert_cmpstr (owl_test_json_get_string (notice, "event"), ==, "auth-expiring");
  payload = json_object_get_object_member (json_node_get_object (notice), "payload");
  g_assert_cmpint (json_object_get_int_member (payload, "expiresIn"), <=, 2);

  owl_test_client_wait_closed (client);
  g_assert_cmpuint (client->close_code, ==, 4001);
  assert_echoes (bystander);
}

static void
test_auth_expiry_refreshed (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  g_autofree char *short_lived = mint ("alice", 2, NULL);
  g_autofree char *renewed = mint ("alice", 300, NULL);
  OwlTestClient *client;
  g_autoptr(JsonNode) answer = NULL;
  gint64 old_expiry = now_s () + 2;
  guint index = 0;

  g_object_set (add_jwt_guard (fixture, "jwt"), "leeway", 0, NULL);
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/echo", short_lived);
  owl_test_client_send_printf (client, "{\"type\":\"auth\",\"stage\":\"authenticate\",\"payload\":{\"token\":\"%s\"}}", renewed);
  answer = wait_for_type (client, &index, "auth");
  g_assert_cmpstr (owl_test_json_get_string (answer, "stage"), ==, "authenticated");

  /* Past the first token's expiry and two more ticks: still open. */
  OWL_TEST_WAIT_FOR (now_s () >= old_expiry + 2);
  g_assert_cmpuint (client->n_closed, ==, 0);
  assert_echoes (client);
}

int
main (int    argc,
      char **argv)
{
  int status;

  /* Every debug line of owlsock is written, so the log check sees them all. */
  g_setenv ("G_MESSAGES_DEBUG", "Owlsock", TRUE);
  minted = g_ptr_array_new_with_free_func (g_free);
  owl_test_capture_logs ();
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/auth/refresh", test_auth_refresh);
  OWL_TEST ("/owl/auth/refresh-entity", test_auth_refresh_entity);
  OWL_TEST ("/owl/auth/refresh-needs-a-token-guard", test_auth_refresh_needs_a_token_guard);
  OWL_TEST ("/owl/auth/refresh-timeout", test_auth_refresh_timeout);
  OWL_TEST ("/owl/auth/expiry", test_auth_expiry);
  OWL_TEST ("/owl/auth/expiry-refreshed", test_auth_expiry_refreshed);
  g_test_add_func ("/owl/auth/no-token-in-logs", test_auth_no_token_in_logs);

  status = g_test_run ();
  g_ptr_array_unref (minted);
  return status;
}

