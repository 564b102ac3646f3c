/* test-module-change.c: a module's admission properties changed after
 * owl_socket_service_add_module() apply from the next upgrade on, and the
 * connections already open keep going as they were admitted
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-checks.h"

/* A guard for `?pass=NAME`: the user NAME, with the scope `admin` when
 * NAME is "admin"; without the parameter it refuses (401). */
typedef struct
{
  OwlGuard parent_instance;
} PassGuard;

typedef OwlGuardClass PassGuardClass;

static GType pass_guard_get_type (void);
G_DEFINE_TYPE (PassGuard, pass_guard, OWL_TYPE_GUARD)

static void
pass_guard_authenticate (OwlGuard   *guard,
                         OwlAttempt *attempt)
{
  const char *name = owl_request_get_query_param (owl_attempt_get_request (attempt), "pass");
  const char *admin[] = { "admin", NULL };
  g_autoptr(OwlAuth) auth = NULL;

  if (name == NULL)
    {
      owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "No pass");
      return;
    }
  auth = g_object_new (OWL_TYPE_AUTH, "user-id", name,
                       "scopes", g_str_equal (name, "admin") ? admin : NULL, NULL);
  owl_attempt_accept (attempt, auth);
}

static void
pass_guard_class_init (PassGuardClass *klass)
{
  klass->authenticate = pass_guard_authenticate;
}

static void
pass_guard_init (PassGuard *self)
{
}

/* The service has the guard `pass` and the gate `admin`; the module
 * `/ws/echo` starts with none of its admission properties set. */
static OwlModule *
setup_service (OwlTestFixture *fixture)
{
  g_autoptr(OwlGuard) guard = g_object_new (pass_guard_get_type (), NULL);
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  g_autoptr(GError) error = NULL;
  OwlModule *module;

  owl_socket_service_add_guard (fixture->service, "pass", guard, &error);
  g_assert_no_error (error);
  owl_socket_service_add_gate (fixture->service, "admin", admin, &error);
  g_assert_no_error (error);
  module = owl_test_fixture_add_echo_module (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);
  return module;
}

static OwlTestClient *
connect_ok (OwlTestFixture *fixture,
            const char     *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);

  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  return client;
}

/* Guards named after the add: the next upgrade is refused with the guard's
 * 401 while the earlier connection goes on; an alias the service does not
 * have takes nobody (401); none opens the module again. */
static void
test_module_change_guards (OwlTestFixture *fixture,
                           gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  OwlTestClient *open = connect_ok (fixture, "/ws/echo");
  OwlConnection *first = owl_test_fixture_wait_accepted (fixture, 0);
  OwlConnection *second;
  const char *pass[] = { "pass", NULL };
  const char *unknown[] = { "nobody", NULL };

  g_object_set (module, "guards", pass, NULL);
  {
    g_auto(GStrv) got = NULL;

    g_object_get (module, "guards", &got, NULL);
    g_assert_true (g_strv_equal ((const char * const *) got, pass));
  }
  owl_test_assert_upgrade_refused (fixture, "/ws/echo", 401, "No pass");
  connect_ok (fixture, "/ws/echo?pass=bob");
  second = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (second)), ==, "bob");
  g_assert_null (owl_connection_get_auth (first));
  owl_test_assert_echoes (open);

  g_object_set (module, "guards", unknown, NULL);
  owl_test_assert_upgrade_refused (fixture, "/ws/echo?pass=bob", 401, "auth-failed");

  g_object_set (module, "guards", NULL, NULL);
  connect_ok (fixture, "/ws/echo");
  owl_test_assert_echoes (open);
}

/* Gates named after the add: the next upgrade of a user without the scope
 * is refused with 403 while the earlier connection goes on; an unknown
 * gate refuses everyone, and so do gates without a guard. */
static void
test_module_change_gates (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  const char *pass[] = { "pass", NULL };
  const char *admin[] = { "admin", NULL };
  const char *gone[] = { "admin", "gone", NULL };
  OwlTestClient *bob;

  g_object_set (module, "guards", pass, NULL);
  bob = connect_ok (fixture, "/ws/echo?pass=bob");

  g_object_set (module, "gates", admin, NULL);
  owl_test_assert_upgrade_refused (fixture, "/ws/echo?pass=bob", 403, "A required scope is missing");
  connect_ok (fixture, "/ws/echo?pass=admin");
  owl_test_assert_echoes (bob);

  g_object_set (module, "gates", gone, NULL);
  owl_test_assert_upgrade_refused (fixture, "/ws/echo?pass=admin", 403, "The gate 'gone' is gone");

  /* Gates without a guard would let anyone in: they let nobody in. */
  g_object_set (module, "gates", admin, "guards", NULL, NULL);
  owl_test_assert_upgrade_refused (fixture, "/ws/echo?pass=admin", 403, "The gates have no guard");
  owl_test_assert_upgrade_refused (fixture, "/ws/echo", 403, "forbidden");
  owl_test_assert_echoes (bob);
}

/* A connection admitted with a guard asks for a token refresh after the
 * module dropped its guards: answered `unsupported`, the identity stays. */
static void
test_module_change_refresh (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  const char *pass[] = { "pass", NULL };
  OwlTestClient *bob;
  OwlConnection *connection;
  g_autoptr(JsonNode) answer = NULL;

  g_object_set (module, "guards", pass, NULL);
  bob = connect_ok (fixture, "/ws/echo?pass=bob");
  connection = owl_test_fixture_wait_accepted (fixture, 0);

  g_object_set (module, "guards", NULL, NULL);
  owl_test_client_send (bob, "{\"type\":\"auth\",\"id\":\"r\",\"stage\":\"authenticate\","
                             "\"payload\":{\"token\":\"t\"}}");
  answer = owl_test_client_wait_json (bob, 0);
  g_assert_cmpstr (owl_test_json_get_string (answer, "code"), ==, "unsupported");
  g_assert_cmpstr (owl_test_json_get_string (answer, "id"), ==, "r");
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "bob");
  owl_test_assert_echoes (bob);
}

/* allowed-origins changed after the add: the next upgrade from an origin
 * no longer on the list is refused with 403; the earlier one goes on. */
static void
test_module_change_origins (OwlTestFixture *fixture,
                            gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  const char *app[] = { "http://app.example", NULL };
  const char *other[] = { "http://other.example", NULL };
  OwlTestClient *client, *refused;

  g_object_set (module, "allowed-origins", app, NULL);
  client = owl_test_client_connect_begin (fixture, fixture->port, "/ws/echo", "http://app.example");
  owl_test_client_wait_done (client);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  g_object_set (module, "allowed-origins", other, NULL);
  refused = owl_test_client_connect_begin (fixture, fixture->port, "/ws/echo", "http://app.example");
  owl_test_client_wait_done (refused);
  g_assert_cmpuint (refused->status, ==, SOUP_STATUS_FORBIDDEN);
  g_assert_null (refused->ws);
  owl_test_assert_echoes (client);
}

/* A query schema set after the add: the next upgrade that fails it is
 * refused with 400; the connection admitted without it goes on. */
static void
test_module_change_query_schema (OwlTestFixture *fixture,
                                 gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) query =
    owl_schema_new_from_string ("{\"required\":[\"room\"],"
                                "\"properties\":{\"room\":{\"maxLength\":4}}}", &error);
  OwlTestClient *client;

  g_assert_no_error (error);
  client = connect_ok (fixture, "/ws/echo?room=much-too-long");
  g_object_set (module, "query-schema", query, NULL);
  owl_test_assert_upgrade_refused (fixture, "/ws/echo?room=much-too-long", 400, "/room: maxLength");
  owl_test_assert_upgrade_refused (fixture, "/ws/echo", 400, "required");
  connect_ok (fixture, "/ws/echo?room=a");
  owl_test_assert_echoes (client);
}

/* Message schemas, limits and subprotocols: a connection keeps what it was
 * admitted with; the next one gets the new ones. */
static void
test_module_change_kept (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  OwlModule *module = setup_service (fixture);
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlSchema) strict = owl_schema_new_from_string ("{\"required\":[\"data\"]}", &error);
  g_autofree char *big = g_strdup_printf ("{\"type\":\"echo\",\"data\":\"%0600d\"}", 0);
  const char *v2[] = { "v2", NULL };
  char *offer[] = { "v2", NULL };
  OwlTestClient *before, *after;
  g_autoptr(JsonNode) error_frame = NULL;
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/echo", fixture->port);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

  g_assert_no_error (error);
  before = connect_ok (fixture, "/ws/echo");
  g_object_set (module, "message-schema", strict, "max-message-size", 512, "protocols", v2, NULL);
  owl_module_set_type_schema (module, "echo", strict);
  after = owl_test_client_connect_protocols (fixture, msg, NULL, offer);
  owl_test_client_wait_done (after);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (after->ws), ==, "v2");
  g_assert_null (soup_websocket_connection_get_protocol (before->ws));

  owl_test_client_send (before, "{\"type\":\"echo\"}");
  owl_test_client_send (before, big);
  owl_test_client_wait_texts (before, 2);
  g_assert_cmpstr (g_ptr_array_index (before->texts, 0), ==, "{\"type\":\"echo\"}");

  owl_test_client_send (after, "{\"type\":\"echo\"}");
  error_frame = owl_test_client_wait_json (after, 0);
  owl_test_assert_error_frame (error_frame, NULL, "validation", "ValidationError|||");
  owl_test_client_send (after, big);
  owl_test_client_wait_closed (after);
  g_assert_cmpuint (after->close_code, ==, 1009);
  owl_test_assert_echoes (before);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/module-change/guards", test_module_change_guards);
  OWL_TEST ("/owl/module-change/gates", test_module_change_gates);
  OWL_TEST ("/owl/module-change/refresh", test_module_change_refresh);
  OWL_TEST ("/owl/module-change/origins", test_module_change_origins);
  OWL_TEST ("/owl/module-change/query-schema", test_module_change_query_schema);
  OWL_TEST ("/owl/module-change/kept", test_module_change_kept);

  return g_test_run ();
}
