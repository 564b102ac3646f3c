/* owl-test-auth.c: helpers the auth tests share (test-auth.c,
 * test-auth-refresh.c): tokens minted and remembered, the JWT guard and a
 * guarded echo module, connections that carry a token, a guard written in C
 * that answers later, and the check that no token reaches a log line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-auth.h"

/* Every token this process minted, and every log line the library wrote:
 * no line may hold a token. */
GPtrArray *minted;
gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Claims as a JSON text with %s for the subject and %ld for times. */
char *
mint_kid (OwlJwtAlg     alg,
          const char   *kid,
          const guint8 *key,
          gsize         key_len,
          const char   *claims_json)
{
  g_autoptr(JsonNode) node = owl_test_json_parse (claims_json);
  g_autoptr(GError) error = NULL;
  char *token = owl_jwt_sign (alg, kid, key, key_len, json_node_get_object (node), &error);

  g_assert_no_error (error);
  g_ptr_array_add (minted, g_strdup (token));
  return token;
}

char *
mint_full (OwlJwtAlg     alg,
           const guint8 *key,
           gsize         key_len,
           const char   *claims_json)
{
  return mint_kid (alg, NULL, key, key_len, claims_json);
}

char *
mint (const char *sub,
      gint64      ttl,
      const char *extra)
{
  g_autofree char *claims = g_strdup_printf ("{\"sub\":\"%s\",\"iat\":%" G_GINT64_FORMAT ",\"exp\":%" G_GINT64_FORMAT "%s%s}",
                                             sub, now_s (), now_s () + ttl,
                                             extra ? "," : "", extra ? extra : "");

  return mint_full (OWL_JWT_HS256, (const guint8 *) SECRET, strlen (SECRET), claims);
}

OwlJwtGuard *
add_jwt_guard (OwlTestFixture *fixture,
               const char     *alias)
{
  g_autoptr(OwlGuard) guard = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;

  owl_jwt_guard_add_secret (OWL_JWT_GUARD (guard), NULL, (const guint8 *) SECRET, strlen (SECRET), &error);
  g_assert_no_error (error);
  owl_socket_service_add_guard (fixture->service, alias, guard, &error);
  g_assert_no_error (error);
  return OWL_JWT_GUARD (guard);
}

OwlModule *
add_guarded_echo (OwlTestFixture *fixture,
                  const char     *alias,
                  const char     *path)
{
  const char *guards[] = { "jwt", NULL };

  return owl_test_fixture_add_echo_module_with (fixture, alias, path, "guards", guards, NULL);
}

OwlTestClient *
connect_with_header (OwlTestFixture *fixture,
                     const char     *path,
                     const char     *token)
{
  g_autofree char *uri = g_strdup_printf ("ws://127.0.0.1:%u%s", fixture->port, path);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", uri);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", token);
  OwlTestClient *client;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
  client = owl_test_client_connect_msg (fixture, msg, NULL);
  owl_test_client_wait_done (client);
  return client;
}

/* An echo round trip: the client and its server side still work. */
void
assert_echoes (OwlTestClient *client)
{
  guint n = client->texts->len;
  g_autoptr(JsonNode) reply = NULL;

  g_assert_nonnull (client->ws);
  owl_test_client_send (client, "{\"type\":\"echo\",\"data\":\"still here\"}");
  reply = owl_test_client_wait_json (client, n);
  g_assert_cmpstr (owl_test_json_get_string (reply, "data"), ==, "still here");
}

/* A guard written in C that answers later, and badly behaved ones -------- */

typedef OwlGuardClass TestGuardClass;

static GType test_guard_get_type (void);
G_DEFINE_TYPE (TestGuard, test_guard, OWL_TYPE_GUARD)

static gboolean
test_guard_match (OwlGuard   *guard,
                  OwlRequest *request)
{
  return owl_request_get_header (request, "X-Test-User") != NULL;
}

static gboolean
answer_later (gpointer data)
{
  OwlAttempt *attempt = data;
  const char *user = owl_request_get_header (owl_attempt_get_request (attempt), "X-Test-User");

  if (g_str_equal (user, "mallory"))
    owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "Unknown user");
  else
    {
      g_autoptr(OwlAuth) auth = owl_auth_new (user);

      owl_attempt_accept (attempt, auth);
    }
  return G_SOURCE_REMOVE;
}

static void
test_guard_authenticate (OwlGuard   *guard,
                         OwlAttempt *attempt)
{
  TestGuard *self = (TestGuard *) guard;

  if (g_str_equal (self->mode, "later"))
    g_idle_add_full (G_PRIORITY_DEFAULT, answer_later, g_object_ref (attempt), g_object_unref);
  else if (g_str_equal (self->mode, "never"))
    g_ptr_array_add (self->kept, g_object_ref (attempt));
  /* "drop": neither answers nor keeps it */
}

static void
test_guard_finalize (GObject *object)
{
  TestGuard *self = (TestGuard *) object;

  g_free (self->mode);
  g_ptr_array_unref (self->kept);
  G_OBJECT_CLASS (test_guard_parent_class)->finalize (object);
}

static void
test_guard_class_init (TestGuardClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_guard_finalize;
  klass->match = test_guard_match;
  klass->authenticate = test_guard_authenticate;
}

static void
test_guard_init (TestGuard *self)
{
  self->kept = g_ptr_array_new_with_free_func (g_object_unref);
}

OwlGuard *
test_guard_new (const char *mode)
{
  TestGuard *self = g_object_new (test_guard_get_type (), NULL);

  self->mode = g_strdup (mode);
  return OWL_GUARD (self);
}

/* No token in any log line ---------------------------------------------------- */

void
test_auth_no_token_in_logs (void)
{
  g_assert_cmpuint (minted->len, >, 10);
  g_assert_cmpuint (strlen (owl_test_get_log ()), >, 0);
  for (guint i = 0; i < minted->len; i++)
    {
      const char *token = g_ptr_array_index (minted, i);
      const char *signature = strrchr (token, '.');

      g_assert_null (strstr (owl_test_get_log (), token));
      if (signature != NULL && strlen (signature) > 8)
        g_assert_null (strstr (owl_test_get_log (), signature + 1));
    }
}
