/* owld-bus-guard.c: a guard whose decision is the bus handler's
 *
 * `[guard NAME] type=bus`: the module's handler answers Authenticate; no
 * handler, no answer within the service's handshake-timeout, or a failed
 * call refuses the upgrade.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "owld-bus.h"

#define OWLD_TYPE_BUS_GUARD (owld_bus_guard_get_type ())
G_DECLARE_FINAL_TYPE (OwldBusGuard, owld_bus_guard, OWLD, BUS_GUARD, OwlGuard)

struct _OwldBusGuard
{
  OwlGuard      parent_instance;
  OwldHandlers *handlers;
  char         *module;
};

G_DEFINE_FINAL_TYPE (OwldBusGuard, owld_bus_guard, OWL_TYPE_GUARD)

static GVariant *
describe_request (OwldBusGuard *self,
                  OwlRequest   *request)
{
  SoupMessageHeaders *headers = owl_request_get_headers (request);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  GVariantBuilder b, h;

  g_variant_builder_init (&h, G_VARIANT_TYPE ("a{ss}"));
  if (headers != NULL)
    {
      soup_message_headers_iter_init (&iter, headers);
      while (soup_message_headers_iter_next (&iter, &name, &value))
        g_variant_builder_add (&h, "{ss}", name, value);
    }
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "module", g_variant_new_string (self->module));
  g_variant_builder_add (&b, "{sv}", "path", g_variant_new_string (owl_request_get_path (request)));
  g_variant_builder_add (&b, "{sv}", "params", owld_bus_string_dict (owl_request_get_params (request)));
  g_variant_builder_add (&b, "{sv}", "query", owld_bus_string_dict (owl_request_get_query (request)));
  g_variant_builder_add (&b, "{sv}", "headers", g_variant_builder_end (&h));
  if (owl_request_get_remote_host (request) != NULL)
    g_variant_builder_add (&b, "{sv}", "peer", g_variant_new_string (owl_request_get_remote_host (request)));
  if (owl_request_get_token (request) != NULL)
    g_variant_builder_add (&b, "{sv}", "token", g_variant_new_string (owl_request_get_token (request)));
  return g_variant_builder_end (&b);
}

static OwlAuth *
auth_from_variant (GVariant *auth)
{
  const char *user = NULL, *entity = NULL;
  g_autofree const char **scopes = NULL;
  gint64 expires_at = 0;

  if (!g_variant_lookup (auth, "user", "&s", &user) || user[0] == '\0')
    return NULL;
  g_variant_lookup (auth, "entity", "&s", &entity);
  g_variant_lookup (auth, "scopes", "^a&s", &scopes);
  g_variant_lookup (auth, "expires-at", "x", &expires_at);
  return g_object_new (OWL_TYPE_AUTH, "user-id", user, "entity-id", entity,
                       "scopes", scopes, "expires-at", MAX (expires_at, 0), NULL);
}

static void
on_authenticated (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(OwlAttempt) attempt = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autoptr(GVariant) auth = NULL;
  g_autoptr(OwlAuth) identity = NULL;
  gboolean accepted = FALSE;

  if (owl_attempt_is_answered (attempt))
    return;
  if (reply == NULL)
    {
      owld_log (G_LOG_LEVEL_INFO, NULL, "bus guard: the handler failed: %s", error->message);
      owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "Refused");
      return;
    }
  g_variant_get (reply, "(b@a{sv})", &accepted, &auth);
  identity = accepted ? auth_from_variant (auth) : NULL;
  if (identity == NULL)
    owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, accepted ? "The handler gave no user" : "Refused");
  else
    owl_attempt_accept (attempt, identity);
}

static gboolean
owld_bus_guard_match (OwlGuard   *guard,
                      OwlRequest *request)
{
  return TRUE;
}

static void
owld_bus_guard_authenticate (OwlGuard   *guard,
                             OwlAttempt *attempt)
{
  OwldBusGuard *self = OWLD_BUS_GUARD (guard);
  GDBusConnection *connection;
  const char *owner, *path;
  gint timeout = 10;

  if (!owld_handlers_lookup (self->handlers, self->module, &connection, &owner, &path))
    {
      owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "No handler decides for this endpoint");
      return;
    }
  g_object_get (owld_handlers_get_service (self->handlers), "handshake-timeout", &timeout, NULL);
  g_dbus_connection_call (connection, owner, path, "org.owlmeans.Owlsock1.Handler", "Authenticate",
                          g_variant_new ("(@a{sv})", describe_request (self, owl_attempt_get_request (attempt))),
                          G_VARIANT_TYPE ("(ba{sv})"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          MAX (timeout, 1) * 1000, owl_attempt_get_cancellable (attempt),
                          on_authenticated, g_object_ref (attempt));
}

static void
owld_bus_guard_finalize (GObject *object)
{
  g_free (OWLD_BUS_GUARD (object)->module);
  G_OBJECT_CLASS (owld_bus_guard_parent_class)->finalize (object);
}

static void
owld_bus_guard_class_init (OwldBusGuardClass *klass)
{
  OwlGuardClass *guard_class = OWL_GUARD_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = owld_bus_guard_finalize;
  guard_class->match = owld_bus_guard_match;
  guard_class->authenticate = owld_bus_guard_authenticate;
}

static void
owld_bus_guard_init (OwldBusGuard *self)
{
}

OwlGuard *
owld_bus_guard_new (OwldHandlers *handlers,
                    const char   *module)
{
  OwldBusGuard *self = g_object_new (OWLD_TYPE_BUS_GUARD, NULL);

  self->handlers = handlers;
  self->module = g_strdup (module);
  return OWL_GUARD (self);
}
