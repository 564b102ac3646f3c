/* test-auth.c: guards, gates, the JWT guard and per-user limits, over real
 * libsoup clients (token refresh and expiry: test-auth-refresh.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-auth.h"

static char *
base64url (const char *text)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) text, strlen (text));
  GString *out = g_string_new (NULL);

  for (const char *p = b64; *p && *p != '='; p++)
    g_string_append_c (out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
  return g_string_free (out, FALSE);
}

/* A token with any header and payload, signed with nothing. */
static char *
forge (const char *header,
       const char *payload,
       const char *signature)
{
  g_autofree char *h = base64url (header);
  g_autofree char *p = base64url (payload);
  char *token = g_strdup_printf ("%s.%s.%s", h, p, signature);

  g_ptr_array_add (minted, g_strdup (token));
  return token;
}

typedef struct
{
  guint  status;
  char  *body;
  char  *www_authenticate;
} Refusal;

static void
refusal_clear (Refusal *refusal)
{
  g_free (refusal->body);
  g_free (refusal->www_authenticate);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Refusal, refusal_clear)

/* An upgrade request by plain HTTP, so the refusal's body can be read. */
static void
upgrade_by_http (OwlTestFixture *fixture,
                 const char     *path,
                 const char     *header,
                 const char     *value,
                 Refusal        *out)
{
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", fixture->port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

  if (header != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), header, value);
  out->status = owl_test_http_send (fixture->session, msg, TRUE, &out->body);
  out->www_authenticate = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                                  "WWW-Authenticate"));
}

static void
assert_refused (OwlTestFixture *fixture,
                const char     *path,
                const char     *token,
                guint           status,
                const char     *code,
                const char     *message)
{
  g_autofree char *bearer = token ? g_strdup_printf ("Bearer %s", token) : NULL;
  g_auto(Refusal) refusal = { 0 };
  g_autoptr(JsonNode) body = NULL;

  upgrade_by_http (fixture, path, token ? "Authorization" : NULL, bearer, &refusal);
  g_assert_cmpuint (refusal.status, ==, status);
  body = owl_test_json_parse (refusal.body);
  g_assert_cmpstr (owl_test_json_get_string (body, "code"), ==, code);
  if (message != NULL)
    g_assert_cmpstr (owl_test_json_get_string (body, "message"), ==, message);
  if (status == SOUP_STATUS_UNAUTHORIZED)
    {
      g_assert_nonnull (refusal.www_authenticate);
      g_assert_true (g_str_has_prefix (refusal.www_authenticate, "Bearer"));
    }
}

/* The three places a token may travel ------------------------------------ */

static void
test_auth_transports (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autofree char *token = mint ("alice", 300, "\"scope\":\"chat admin\"");
  g_autofree char *uri = NULL;
  OwlTestClient *client;
  OwlConnection *connection;
  OwlAuth *auth;

  add_jwt_guard (fixture, "jwt");
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  /* Authorization: Bearer */
  client = connect_with_header (fixture, "/ws/echo", token);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  connection = owl_test_fixture_wait_accepted (fixture, 0);
  auth = owl_connection_get_auth (connection);
  g_assert_nonnull (auth);
  g_assert_cmpstr (owl_auth_get_user_id (auth), ==, "alice");
  g_assert_true (owl_auth_has_scope (auth, "admin"));
  g_assert_true (owl_auth_has_scope (auth, "chat"));
  g_assert_false (owl_auth_has_scope (auth, "root"));
  g_assert_true (owl_request_get_auth (owl_connection_get_request (connection)) == auth);
  assert_echoes (client);

  /* the token query parameter */
  uri = g_strdup_printf ("/ws/echo?token=%s", token);
  client = owl_test_client_connect (fixture, uri);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  connection = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "alice");

  /* a subprotocol entry, beside the protocol a browser would offer: the
   * server selects "owlsock" and never echoes the token entry */
  {
    g_autofree char *entry = g_strdup_printf ("owlsock.bearer.%s", token);
    char *protocols[] = { entry, (char *) "owlsock", NULL };
    g_autofree char *ws_uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/echo", fixture->port);
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", ws_uri);
    const char *selected;

    client = owl_test_client_connect_protocols (fixture, msg, NULL, protocols);
    owl_test_client_wait_done (client);
    g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
    selected = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Sec-WebSocket-Protocol");
    g_assert_cmpstr (selected, ==, "owlsock");
    g_assert_cmpstr (soup_websocket_connection_get_protocol (client->ws), ==, "owlsock");
    connection = owl_test_fixture_wait_accepted (fixture, 2);
    g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "alice");
    assert_echoes (client);
  }

  /* the token entry alone: no subprotocol selected */
  {
    g_autofree char *entry = g_strdup_printf ("owlsock.bearer.%s", token);
    char *protocols[] = { entry, NULL };
    g_autofree char *ws_uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/echo", fixture->port);
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", ws_uri);

    client = owl_test_client_connect_protocols (fixture, msg, NULL, protocols);
    owl_test_client_wait_done (client);
    g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
    g_assert_null (soup_message_headers_get_one (soup_message_get_response_headers (msg), "Sec-WebSocket-Protocol"));
  }
}

/* Every way a token is refused ------------------------------------------- */

static void
test_auth_jwt_rejections (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autofree char *good = mint ("alice", 300, NULL);
  g_autofree char *expired = mint ("alice", -120, NULL);
  g_autofree char *future = NULL, *wrong_iss = NULL, *wrong_aud = NULL, *other_key = NULL;
  g_autofree char *none = NULL, *confused = NULL, *bad_sig = NULL, *not_object = NULL;
  g_autofree char *oversize = NULL, *claims = NULL, *es_private = NULL, *es_public = NULL;
  g_autoptr(GError) error = NULL;
  OwlJwtGuard *guard;
  OwlTestClient *bystander;

  guard = add_jwt_guard (fixture, "jwt");
  g_object_set (guard, "leeway", 0, "issuer", "https://issuer.test", "audience", "owlsock", NULL);
  owl_jwt_generate_key (OWL_JWT_ES256, &es_private, &es_public, &error);
  g_assert_no_error (error);
  owl_jwt_guard_add_public_key (guard, NULL, es_public, &error);
  g_assert_no_error (error);
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  g_free (good);
  good = mint ("alice", 300, "\"iss\":\"https://issuer.test\",\"aud\":\"owlsock\"");
  bystander = connect_with_header (fixture, "/ws/echo", good);
  g_assert_cmpuint (bystander->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  claims = g_strdup_printf ("{\"sub\":\"alice\",\"nbf\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT
                            ",\"iss\":\"https://issuer.test\",\"aud\":\"owlsock\"}",
                            now_s () + 600, now_s () + 900);
  future = mint_full (OWL_JWT_HS256, (const guint8 *) SECRET, strlen (SECRET), claims);
  wrong_iss = mint ("alice", 300, "\"iss\":\"https://evil.test\",\"aud\":\"owlsock\"");
  wrong_aud = mint ("alice", 300, "\"iss\":\"https://issuer.test\",\"aud\":[\"other\",\"more\"]");
  other_key = mint_full (OWL_JWT_HS256, (const guint8 *) "another-secret-another-secret-0123", 34,
                         "{\"sub\":\"alice\",\"exp\":9999999999,\"iss\":\"https://issuer.test\",\"aud\":\"owlsock\"}");
  none = forge ("{\"alg\":\"none\",\"typ\":\"JWT\"}",
                "{\"sub\":\"alice\",\"exp\":9999999999,\"iss\":\"https://issuer.test\",\"aud\":\"owlsock\"}", "");
  /* The classic confusion: HS256 keyed with the ES256 public key's bytes. */
  confused = mint_full (OWL_JWT_HS256, (const guint8 *) es_public, strlen (es_public),
                        "{\"sub\":\"alice\",\"exp\":9999999999,\"iss\":\"https://issuer.test\",\"aud\":\"owlsock\"}");
  bad_sig = g_strdup (good);
  bad_sig[strlen (bad_sig) - 2] = bad_sig[strlen (bad_sig) - 2] == 'A' ? 'B' : 'A';
  not_object = forge ("[\"HS256\"]", "{\"sub\":\"alice\"}", "AAAA");
  oversize = g_strnfill (9000, 'a');

  assert_refused (fixture, "/ws/echo", NULL, 401, "auth-failed", "Credentials required");
  assert_refused (fixture, "/ws/echo", "not-a-token", 401, "auth-failed", "Malformed token");
  assert_refused (fixture, "/ws/echo", "a.b!.c", 401, "auth-failed", "Malformed token");
  assert_refused (fixture, "/ws/echo", not_object, 401, "auth-failed", "Malformed token");
  assert_refused (fixture, "/ws/echo", bad_sig, 401, "auth-failed", "Bad signature");
  assert_refused (fixture, "/ws/echo", other_key, 401, "auth-failed", "Bad signature");
  assert_refused (fixture, "/ws/echo", none, 401, "auth-failed", "Unsupported algorithm");
  assert_refused (fixture, "/ws/echo", confused, 401, "auth-failed", "Bad signature");
  assert_refused (fixture, "/ws/echo", expired, 401, "auth-failed", "Token expired");
  assert_refused (fixture, "/ws/echo", future, 401, "auth-failed", "Token not yet valid");
  assert_refused (fixture, "/ws/echo", wrong_iss, 401, "auth-failed", "Wrong issuer");
  assert_refused (fixture, "/ws/echo", wrong_aud, 401, "auth-failed", "Wrong audience");
  assert_refused (fixture, "/ws/echo", oversize, 401, "auth-failed", "Token too large");

  /* The first connection never noticed. */
  assert_echoes (bystander);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 1);
}

/* A guard with only an ES256 key refuses HS256 tokens outright, whatever
 * they were keyed with. Its keys have kids, so a token naming another kid
 * is refused too, even when its signature is good. */
static void
test_auth_jwt_algorithms (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *es_private = NULL, *es_public = NULL, *ed_private = NULL, *ed_public = NULL;
  g_autofree char *es = NULL, *ed = NULL, *confused = NULL, *named = NULL, *unknown = NULL;
  const char *guards[] = { "es", NULL };
  const char *claims = "{\"sub\":\"bob\",\"exp\":9999999999}";
  OwlTestClient *client;

  owl_jwt_generate_key (OWL_JWT_ES256, &es_private, &es_public, &error);
  g_assert_no_error (error);
  owl_jwt_generate_key (OWL_JWT_EDDSA, &ed_private, &ed_public, &error);
  g_assert_no_error (error);
  owl_jwt_guard_add_public_key (OWL_JWT_GUARD (guard), "es-1", es_public, &error);
  g_assert_no_error (error);
  owl_jwt_guard_add_public_key (OWL_JWT_GUARD (guard), "ed-1", ed_public, &error);
  g_assert_no_error (error);
  owl_socket_service_add_guard (fixture->service, "es", guard, &error);
  g_assert_no_error (error);
  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "guards", guards, NULL);
  owl_test_fixture_listen (fixture);

  es = mint_full (OWL_JWT_ES256, (const guint8 *) es_private, strlen (es_private), claims);
  ed = mint_full (OWL_JWT_EDDSA, (const guint8 *) ed_private, strlen (ed_private), claims);
  confused = mint_full (OWL_JWT_HS256, (const guint8 *) es_public, strlen (es_public), claims);
  named = mint_kid (OWL_JWT_ES256, "es-1", (const guint8 *) es_private, strlen (es_private), claims);
  unknown = mint_kid (OWL_JWT_ES256, "es-2", (const guint8 *) es_private, strlen (es_private), claims);

  client = connect_with_header (fixture, "/ws/echo", es);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  client = connect_with_header (fixture, "/ws/echo", named);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  client = connect_with_header (fixture, "/ws/echo", ed);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  assert_refused (fixture, "/ws/echo", confused, 401, "auth-failed", "Unsupported algorithm");
  assert_refused (fixture, "/ws/echo", unknown, 401, "auth-failed", "Unknown key");
  assert_echoes (client);
}

/* Registration mistakes fail where they are made ------------------------- */

static void
test_auth_unknown_alias (OwlTestFixture *fixture,
                         gconstpointer   data)
{
  const char *guards[] = { "missing", NULL };
  const char *jwt[] = { "jwt", NULL };
  const char *gates[] = { "nope", NULL };
  g_autoptr(OwlModule) a = g_object_new (OWL_TYPE_MODULE, "alias", "a", "path", "/a", "guards", guards, NULL);
  g_autoptr(OwlModule) b = g_object_new (OWL_TYPE_MODULE, "alias", "b", "path", "/b", "guards", jwt, "gates", gates, NULL);
  g_autoptr(OwlModule) c = g_object_new (OWL_TYPE_MODULE, "alias", "c", "path", "/c", "gates", gates, NULL);
  g_autoptr(OwlGate) gate = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  g_autoptr(GError) error = NULL;

  add_jwt_guard (fixture, "jwt");
  g_assert_false (owl_socket_service_add_guard (fixture->service, "jwt", owl_socket_service_lookup_guard (fixture->service, "jwt"), &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);
  g_clear_error (&error);

  g_assert_false (owl_socket_service_add_module (fixture->service, a, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "missing"));
  g_clear_error (&error);

  g_assert_false (owl_socket_service_add_module (fixture->service, b, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND);
  g_clear_error (&error);

  owl_socket_service_add_gate (fixture->service, "nope", gate, &error);
  g_assert_no_error (error);
  g_assert_false (owl_socket_service_add_module (fixture->service, c, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (owl_socket_service_add_module (fixture->service, b, &error));
  g_assert_no_error (error);
}

/* A guard written in C that answers later, and badly behaved ones -------- */

static void
test_auth_custom_guard (OwlTestFixture *fixture,
                        gconstpointer   data)
{
  g_autoptr(OwlGuard) later = test_guard_new ("later");
  g_autoptr(OwlGuard) drop = test_guard_new ("drop");
  g_autoptr(OwlGuard) never = test_guard_new ("never");
  const char *first[] = { "later", "jwt", NULL };
  const char *dropping[] = { "drop", NULL };
  const char *silent[] = { "never", NULL };
  g_autofree char *token = mint ("carol", 300, NULL);
  g_auto(Refusal) refusal = { 0 };
  OwlTestClient *client;
  OwlConnection *connection;

  g_object_set (fixture->service, "handshake-timeout", 1, NULL);
  owl_socket_service_add_guard (fixture->service, "later", later, NULL);
  owl_socket_service_add_guard (fixture->service, "drop", drop, NULL);
  owl_socket_service_add_guard (fixture->service, "never", never, NULL);
  add_jwt_guard (fixture, "jwt");
  owl_test_fixture_add_echo_module_with (fixture, "echo", "/ws/echo", "guards", first, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "drop", "/ws/drop", "guards", dropping, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "never", "/ws/never", "guards", silent, NULL);
  owl_test_fixture_listen (fixture);

  /* The C guard matches and answers from an idle callback. */
  {
    g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u/ws/echo", fixture->port);
    g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Test-User", "dave");
    client = owl_test_client_connect_msg (fixture, msg, NULL);
    owl_test_client_wait_done (client);
    g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
    connection = owl_test_fixture_wait_accepted (fixture, 0);
    g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "dave");
  }

  upgrade_by_http (fixture, "/ws/echo", "X-Test-User", "mallory", &refusal);
  g_assert_cmpuint (refusal.status, ==, 401);
  g_assert_nonnull (strstr (refusal.body, "Unknown user"));
  refusal_clear (&refusal);

  /* The C guard does not match; the JWT guard after it decides. */
  client = connect_with_header (fixture, "/ws/echo", token);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  connection = owl_test_fixture_wait_accepted (fixture, 1);
  g_assert_cmpstr (owl_auth_get_user_id (owl_connection_get_auth (connection)), ==, "carol");

  /* A guard that drops its attempt: 500, and a warning names the bug. */
  owl_test_expect_warning ("A guard dropped its OwlAttempt");
  upgrade_by_http (fixture, "/ws/drop", "X-Test-User", "erin", &refusal);
  owl_test_assert_expected_warnings ();
  g_assert_cmpuint (refusal.status, ==, 500);
  g_assert_nonnull (strstr (refusal.body, "\"internal\""));
  refusal_clear (&refusal);

  /* A guard that never answers: refused when the handshake time is up. */
  upgrade_by_http (fixture, "/ws/never", "X-Test-User", "frank", &refusal);
  g_assert_cmpuint (refusal.status, ==, 503);
  g_assert_nonnull (strstr (refusal.body, "\"timeout\""));
  g_assert_true (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (((TestGuard *) never)->kept, 0))));
  /* answering after the fact is harmless */
  owl_attempt_reject (g_ptr_array_index (((TestGuard *) never)->kept, 0), OWL_ERROR_AUTH_FAILED, "late");

  assert_echoes (client);
}

/* A client that hangs up while a guard thinks gives its slots back at the
 * next tick, long before the handshake timeout. */
static void
test_auth_client_gone (OwlTestFixture *fixture,
                       gconstpointer   data)
{
  g_autoptr(OwlGuard) never = test_guard_new ("never");
  const char *silent[] = { "never", NULL };
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *request = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autoptr(GVariant) rejected = NULL;
  GPtrArray *kept = ((TestGuard *) never)->kept;
  guint64 gone = 0;

  g_object_set (fixture->service, "handshake-timeout", 60, "max-connections-per-ip", 1, NULL);
  owl_socket_service_add_guard (fixture->service, "never", never, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "never", "/ws/never", "guards", silent, NULL);
  owl_test_fixture_listen (fixture);

  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", fixture->port, NULL, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("GET /ws/never HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\nX-Test-User: gina\r\n\r\n",
                             fixture->port);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  OWL_TEST_WAIT_FOR (kept->len == 1);

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  /* Well before the 60 s handshake timeout. */
  OWL_TEST_WAIT_FOR_MS (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 0))), 5000);

  stats = owl_socket_service_dup_stats (fixture->service);
  rejected = g_variant_lookup_value (stats, "rejected", G_VARIANT_TYPE ("a{st}"));
  g_variant_lookup (rejected, "client-gone", "t", &gone);
  g_assert_cmpuint (gone, ==, 1);

  /* Its per-IP slot (the only one) is free again: the next request gets
   * as far as the guard. */
  g_clear_object (&connection);
  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", fixture->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  OWL_TEST_WAIT_FOR (kept->len == 2);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  OWL_TEST_WAIT_FOR_MS (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 1))), 5000);
}

/* Gates --------------------------------------------------------------------- */

/* Removing a guard or a gate never opens what it guarded: the module that
 * still names them refuses (401 without the guard, 403 without the gate),
 * and connections already open keep working. */
static void
test_auth_removed (OwlTestFixture *fixture,
                   gconstpointer   data)
{
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  const char *guards[] = { "jwt", NULL };
  const char *gates[] = { "admin", NULL };
  g_autofree char *alice_admin = mint ("alice", 300, "\"scope\":\"admin\"");
  OwlTestClient *client;

  add_jwt_guard (fixture, "jwt");
  owl_socket_service_add_gate (fixture->service, "admin", admin, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "monitor", "/ws/monitor", "guards", guards, "gates", gates, NULL);
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/monitor", alice_admin);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  g_assert_true (owl_socket_service_remove_guard (fixture->service, "jwt"));
  g_assert_false (owl_socket_service_remove_guard (fixture->service, "jwt"));
  g_assert_null (owl_socket_service_lookup_guard (fixture->service, "jwt"));
  assert_refused (fixture, "/ws/monitor", alice_admin, 401, "auth-failed", NULL);

  /* A missing gate refuses before any guard is asked. */
  g_assert_true (owl_socket_service_remove_gate (fixture->service, "admin"));
  g_assert_false (owl_socket_service_remove_gate (fixture->service, "admin"));
  assert_refused (fixture, "/ws/monitor", alice_admin, 403, "forbidden", "The gate 'admin' is gone");
  assert_echoes (client);
}

static void
test_auth_gates (OwlTestFixture *fixture,
                 gconstpointer   data)
{
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  g_autoptr(OwlGate) owner = owl_param_gate_new ("userId", NULL);
  const char *guards[] = { "jwt", NULL };
  const char *admin_gates[] = { "admin", NULL };
  const char *owner_gates[] = { "owner", NULL };
  g_autofree char *alice_admin = mint ("alice", 300, "\"scope\":\"admin\"");
  g_autofree char *bob = mint ("bob", 300, "\"scopes\":[\"chat\"]");
  OwlTestClient *client;

  add_jwt_guard (fixture, "jwt");
  owl_socket_service_add_gate (fixture->service, "admin", admin, NULL);
  owl_socket_service_add_gate (fixture->service, "owner", owner, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "monitor", "/ws/monitor", "guards", guards, "gates", admin_gates, NULL);
  owl_test_fixture_add_echo_module_with (fixture, "user", "/ws/user/:userId", "guards", guards, "gates", owner_gates, NULL);
  owl_test_fixture_listen (fixture);

  client = connect_with_header (fixture, "/ws/monitor", alice_admin);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  assert_refused (fixture, "/ws/monitor", bob, 403, "forbidden", "A required scope is missing");

  client = connect_with_header (fixture, "/ws/user/bob", bob);
  g_assert_cmpuint (client->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  assert_refused (fixture, "/ws/user/alice", bob, 403, "forbidden", "Not allowed for this path");
  /* No token at all is 401, not 403: the gate never sees a request without an identity. */
  assert_refused (fixture, "/ws/user/alice", NULL, 401, "auth-failed", NULL);
  assert_echoes (client);
}

/* Per-user connection limit ------------------------------------------------- */

static void
test_auth_per_user_limit (OwlTestFixture *fixture,
                          gconstpointer   data)
{
  g_autofree char *alice = mint ("alice", 300, NULL);
  g_autofree char *bob = mint ("bob", 300, NULL);
  OwlTestClient *first, *second, *third;
  g_autoptr(GVariant) stats = NULL;
  guint64 refused = 0;

  g_object_set (fixture->service, "max-connections-per-user", 2, NULL);
  add_jwt_guard (fixture, "jwt");
  add_guarded_echo (fixture, "echo", "/ws/echo");
  owl_test_fixture_listen (fixture);

  first = connect_with_header (fixture, "/ws/echo", alice);
  second = connect_with_header (fixture, "/ws/echo", alice);
  g_assert_cmpuint (first->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_cmpuint (second->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  assert_refused (fixture, "/ws/echo", alice, 429, "rate-limited", "Too many connections for this user");

  /* Another user is not affected. */
  third = connect_with_header (fixture, "/ws/echo", bob);
  g_assert_cmpuint (third->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);

  /* A slot frees when one of alice's connections closes. */
  soup_websocket_connection_close (first->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  owl_test_client_wait_closed (first);
  OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 2);
  first = connect_with_header (fixture, "/ws/echo", alice);
  g_assert_cmpuint (first->status, ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  assert_echoes (second);
  assert_echoes (third);

  stats = owl_socket_service_dup_stats (fixture->service);
  {
    g_autoptr(GVariant) rejected = g_variant_lookup_value (stats, "rejected", G_VARIANT_TYPE ("a{st}"));

    g_variant_lookup (rejected, "max-connections-per-user", "t", &refused);
  }
  g_assert_cmpuint (refused, ==, 1);
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

  OWL_TEST ("/owl/auth/transports", test_auth_transports);
  OWL_TEST ("/owl/auth/jwt-rejections", test_auth_jwt_rejections);
  OWL_TEST ("/owl/auth/jwt-algorithms", test_auth_jwt_algorithms);
  OWL_TEST ("/owl/auth/unknown-alias", test_auth_unknown_alias);
  OWL_TEST ("/owl/auth/custom-guard", test_auth_custom_guard);
  OWL_TEST ("/owl/auth/client-gone", test_auth_client_gone);
  OWL_TEST ("/owl/auth/gates", test_auth_gates);
  OWL_TEST ("/owl/auth/removed", test_auth_removed);
  OWL_TEST ("/owl/auth/per-user-limit", test_auth_per_user_limit);
  g_test_add_func ("/owl/auth/no-token-in-logs", test_auth_no_token_in_logs);

  status = g_test_run ();
  g_ptr_array_unref (minted);
  return status;
}

