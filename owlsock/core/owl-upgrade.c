/* owl-upgrade.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-envelope-private.h"
#include "owl-module-private.h"
#include "owl-recover-private.h"
#include "owl-request-private.h"
#include "owl-schema-private.h"
#include "owl-upgrade-private.h"

/* The server's compression policy: no context kept between messages (no
 * zlib memory held by idle connections, and a broadcast compresses once),
 * and a 4 KiB window. */
#define OWL_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER TRUE
#define OWL_DEFLATE_SERVER_MAX_WINDOW_BITS     12

/* One upgrade request on its way to the 101. */
struct _OwlUpgrade
{
  gint               ref_count;
  OwlUpgrades       *upgrades;
  OwlModule         *module;
  OwlRequest        *request;
  SoupServerMessage *msg;        /* while deciding */
  OwlSlots           slots;
  OwlAuthRun        *run;        /* while guards and gates decide */
  gulong             disconnected_id;
  OwlFdHandle       *handle;     /* while waiting, to see the client hang up */
  gboolean           paused;
  gboolean           deflate;
  OwlDeflateParams   deflate_params;
};

void
owl_upgrades_init (OwlUpgrades *self)
{
  self->waiting = g_ptr_array_new ();
}

void
owl_upgrades_clear (OwlUpgrades *self)
{
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
}

static OwlUpgrade *
upgrade_ref (OwlUpgrade *upgrade)
{
  upgrade->ref_count++;
  return upgrade;
}

static void
upgrade_unref (OwlUpgrade *upgrade)
{
  if (--upgrade->ref_count > 0)
    return;
  owl_admission_release (upgrade->upgrades->admission, &upgrade->slots);
  owl_auth_run_free (upgrade->run);
  g_object_unref (upgrade->module);
  g_object_unref (upgrade->request);
  g_free (upgrade);
}

OwlModule *
owl_upgrade_get_module (OwlUpgrade *upgrade)
{
  return upgrade->module;
}

OwlRequest *
owl_upgrade_get_request (OwlUpgrade *upgrade)
{
  return upgrade->request;
}

const OwlDeflateParams *
owl_upgrade_get_deflate (OwlUpgrade *upgrade)
{
  return upgrade->deflate ? &upgrade->deflate_params : NULL;
}

void
owl_upgrade_take_slots (OwlUpgrade *upgrade,
                        OwlSlots   *slots)
{
  *slots = upgrade->slots;
  upgrade->slots = (OwlSlots) { NULL, NULL };
}

/* Answers ------------------------------------------------------------------------- */

/* Counts the refusal and answers it: @error (a guard's, a gate's, a
 * schema's) through the client-safe rule, else @message, else the row's. */
static void
respond (OwlUpgrades       *self,
         SoupServerMessage *msg,
         OwlRefusal         refusal,
         const GError      *error,
         const char        *message)
{
  const OwlRefusalRow *row = owl_refusal_row (refusal);
  OwlError code = row->code;
  guint status = owl_refusal_status_for (refusal, error);

  if (error != NULL)
    code = owl_envelope_client_error (error, &message);
  else if (message == NULL)
    message = row->message;

  owl_stats_count_rejected (self->stats, row->reason);
  owl_refusal_answer (msg, status, code, message);
}

/* The decision is made: let libsoup go on with the message. */
static void
upgrade_complete (OwlUpgrade *upgrade)
{
  SoupServerMessage *msg = g_steal_pointer (&upgrade->msg);

  g_clear_signal_handler (&upgrade->disconnected_id, msg);
  if (upgrade->handle != NULL)
    {
      g_ptr_array_remove_fast (upgrade->upgrades->waiting, upgrade);
      g_clear_pointer (&upgrade->handle, owl_fd_handle_unref);
    }
  if (!upgrade->paused)
    {
      g_object_unref (msg);
      return;
    }
  upgrade->paused = FALSE;
  soup_server_message_unpause (msg);
  g_object_unref (msg);
  /* Last: the reference upgrade_wait() took may be the last one. */
  upgrade_unref (upgrade);
}

static void
upgrade_refuse (OwlUpgrade   *upgrade,
                OwlRefusal    refusal,
                const GError *error,
                const char   *message)
{
  if (refusal == OWL_REFUSAL_AUTH)
    soup_message_headers_replace (soup_server_message_get_response_headers (upgrade->msg),
                                  "WWW-Authenticate",
                                  owl_request_get_token (upgrade->request) != NULL
                                  ? "Bearer error=\"invalid_token\"" : "Bearer");
  respond (upgrade->upgrades, upgrade->msg, refusal, error, message);
  owl_admission_release (upgrade->upgrades->admission, &upgrade->slots);
  upgrade_complete (upgrade);
}

/* The 101 went out: from here on the stream is the service's. */
static void
on_wrote_informational (SoupServerMessage *msg,
                        gpointer           user_data)
{
  OwlUpgrade *upgrade = user_data;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  upgrade->upgrades->accepted (upgrade->upgrades->service, upgrade, msg,
                               soup_server_message_steal_connection (msg));
}

static void
upgrade_closure_free (gpointer  data,
                      GClosure *closure)
{
  upgrade_unref (data);
}

/* permessage-deflate is owlsock's (libsoup's own inflates without a cap),
 * so only on streams owlsock's frame layer takes over: plain ones, and TLS
 * on the service's own listener. */
static void
negotiate_deflate (OwlUpgrade *upgrade)
{
  SoupServerMessage *msg = upgrade->msg;
  g_autofree char *response = NULL;
  const char *offer;

  if (!owl_module_get_deflate (upgrade->module) ||
      (upgrade->upgrades->listener == NULL &&
       g_strcmp0 (g_uri_get_scheme (soup_server_message_get_uri (msg)), "https") == 0))
    return;

  offer = soup_message_headers_get_list (soup_server_message_get_request_headers (msg),
                                         "Sec-WebSocket-Extensions");
  if (offer != NULL &&
      owl_deflate_negotiate (offer, OWL_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER,
                             OWL_DEFLATE_SERVER_MAX_WINDOW_BITS, &upgrade->deflate_params, &response))
    {
      upgrade->deflate = TRUE;
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Sec-WebSocket-Extensions", response);
    }
}

static void
upgrade_accept (OwlUpgrade *upgrade)
{
  SoupServerMessage *msg = upgrade->msg;
  const char *protocol = owl_request_choose_protocol (upgrade->request,
                                                      owl_module_get_protocols (upgrade->module));

  soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL);
  if (protocol != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Sec-WebSocket-Protocol", protocol);
  negotiate_deflate (upgrade);
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (on_wrote_informational),
                         upgrade_ref (upgrade), upgrade_closure_free, 0);
  upgrade_complete (upgrade);
}

/* Schemas, last ----------------------------------------------------------------- */

/* The query or the params, as an object of strings, against @schema;
 * @what is the refusal's subject and verb ("params do"). The query's
 * `recover` is owlsock's own (checked by then) and not the schema's: a
 * client adds it on its own when it reconnects, so a strict schema would
 * refuse every reconnection. */
static gboolean
check_strings (OwlUpgrade *upgrade,
               const char *what,
               OwlSchema  *schema,
               GHashTable *strings,
               const char *own)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (schema == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, strings);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (own == NULL || !g_str_equal (key, own))
      json_object_set_string_member (object, key, value);
  node = json_node_init_object (json_node_alloc (), object);
  if (owl_schema_validate (schema, node, &error))
    return TRUE;

  message = g_strdup_printf ("The %s not match the schema: %s", what, error->message);
  upgrade_refuse (upgrade, OWL_REFUSAL_SCHEMA, NULL, message);
  return FALSE;
}

static void
upgrade_finish_checks (OwlUpgrade *upgrade)
{
  OwlUpgrades *self = upgrade->upgrades;

  /* A stop or a removal may have begun while a guard or gate thought. */
  if (self->stopping)
    {
      upgrade_refuse (upgrade, OWL_REFUSAL_STOPPING, NULL, NULL);
      return;
    }
  if (owl_module_get_service (upgrade->module) != self->service)
    {
      upgrade_refuse (upgrade, OWL_REFUSAL_NOT_FOUND, NULL, NULL);
      return;
    }

  /* Only with a schema: the request builds these tables on first use and
   * keeps them for the connection's life. */
  if ((owl_module_get_query_schema (upgrade->module) == NULL ||
       check_strings (upgrade, "query does", owl_module_get_query_schema (upgrade->module),
                      owl_request_get_query (upgrade->request), "recover")) &&
      (owl_module_get_params_schema (upgrade->module) == NULL ||
       check_strings (upgrade, "params do", owl_module_get_params_schema (upgrade->module),
                      owl_request_get_params (upgrade->request), NULL)))
    upgrade_accept (upgrade);
}

/* The auth chain ------------------------------------------------------------------ */

/* Between the guard and the gates: the per-user limit, a slot taken. */
static gboolean
take_user_slot (gpointer   user_data,
                OwlAuth   *auth,
                GError   **error)
{
  OwlUpgrade *upgrade = user_data;

  if (!owl_admission_take_user (upgrade->upgrades->admission, owl_auth_get_user_id (auth), &upgrade->slots))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_RATE_LIMITED,
                           owl_refusal_row (OWL_REFUSAL_MAX_CONNECTIONS_PER_USER)->message);
      return FALSE;
    }
  return TRUE;
}

static void
on_auth_done (gpointer        user_data,
              OwlAuthOutcome  outcome,
              OwlAuth        *auth,
              const GError   *error)
{
  OwlUpgrade *upgrade = user_data;

  if (upgrade->msg == NULL)
    return;  /* the client went away */

  switch (outcome)
    {
    case OWL_AUTH_ACCEPTED:
      if (auth != NULL)
        owl_request_set_auth (upgrade->request, auth);
      upgrade_finish_checks (upgrade);
      break;
    case OWL_AUTH_NO_GUARD:
    case OWL_AUTH_GUARD:
      upgrade_refuse (upgrade, OWL_REFUSAL_AUTH, error, NULL);
      break;
    case OWL_AUTH_CHECK:
      upgrade_refuse (upgrade, OWL_REFUSAL_MAX_CONNECTIONS_PER_USER, error, NULL);
      break;
    case OWL_AUTH_GATE:
      upgrade_refuse (upgrade, OWL_REFUSAL_GATE, error, NULL);
      break;
    case OWL_AUTH_TIMEOUT:
    default:
      upgrade_refuse (upgrade, OWL_REFUSAL_AUTH_TIMEOUT, error, NULL);
      break;
    }
}

static void
on_upgrade_disconnected (SoupServerMessage *msg,
                         gpointer           user_data)
{
  OwlUpgrade *upgrade = upgrade_ref (user_data);

  /* libsoup has let go of the message: nothing to answer or unpause. */
  g_clear_signal_handler (&upgrade->disconnected_id, msg);
  if (upgrade->paused)
    {
      upgrade->paused = FALSE;
      upgrade_unref (upgrade);
    }
  owl_admission_release (upgrade->upgrades->admission, &upgrade->slots);
  upgrade_complete (upgrade);
  owl_auth_run_cancel (upgrade->run);
  upgrade_unref (upgrade);
}

/* Guards and gates that answer later: hold the message (its handshake
 * timer lets go: the wait is the server's, the chain bounds it). */
static void
upgrade_wait (OwlUpgrade *upgrade)
{
  OwlUpgrades *self = upgrade->upgrades;
  GSocketAddress *remote = soup_server_message_get_remote_address (upgrade->msg);

  soup_server_message_pause (upgrade->msg);
  upgrade->paused = TRUE;
  upgrade_ref (upgrade);   /* until the decision, released by upgrade_complete() */
  if (self->listener != NULL && remote != NULL)
    upgrade->handle = owl_listener_hold (self->listener, remote);
  if (upgrade->handle != NULL)
    g_ptr_array_add (self->waiting, upgrade);
  upgrade->disconnected_id = g_signal_connect (upgrade->msg, "disconnected",
                                               G_CALLBACK (on_upgrade_disconnected), upgrade);
}

/* The client hung up while a guard or gate thought (libsoup does not read
 * a paused request, so the tick looks): its slots come back now. */
void
owl_upgrades_tick (OwlUpgrades *self)
{
  for (guint i = 0; i < self->waiting->len;)
    {
      OwlUpgrade *upgrade = g_ptr_array_index (self->waiting, i);

      /* Deciding removes the upgrade from the array: look at the same
       * index again then. */
      if (!owl_fd_handle_peer_gone (upgrade->handle))
        {
          i++;
          continue;
        }
      upgrade_ref (upgrade);
      upgrade_refuse (upgrade, OWL_REFUSAL_CLIENT_GONE, NULL, NULL);
      owl_auth_run_cancel (upgrade->run);
      upgrade_unref (upgrade);
    }
}

/* The entry --------------------------------------------------------------------------- */

static gboolean
is_upgrade_request (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return soup_message_headers_header_contains (headers, "Connection", "upgrade") &&
         soup_message_headers_header_equals (headers, "Upgrade", "websocket");
}

/* The cheap checks that need no upgrade object; FALSE when answered. */
static gboolean
precheck (OwlUpgrades       *self,
          SoupServerMessage *msg,
          OwlModule        **module,
          GHashTable       **params)
{
  g_autofree char *bad_param = NULL;
  g_autoptr(GError) error = NULL;

  switch (owl_router_lookup (self->router, g_uri_get_path (soup_server_message_get_uri (msg)),
                             (gpointer *) module, params, &bad_param))
    {
    case OWL_ROUTER_NOT_FOUND:
      respond (self, msg, OWL_REFUSAL_NOT_FOUND, NULL, NULL);
      return FALSE;
    case OWL_ROUTER_BAD_PARAM:
      error = owl_request_new_param_error (bad_param);
      respond (self, msg, OWL_REFUSAL_NOT_TEXT, error, NULL);
      return FALSE;
    case OWL_ROUTER_FOUND:
    default:
      break;
    }
  if (self->stopping)
    {
      respond (self, msg, OWL_REFUSAL_STOPPING, NULL, NULL);
      return FALSE;
    }
  return TRUE;
}

/* A `recover` parameter, when there is one, names positions to recover
 * from: checked before the text check, so that one that does not decode
 * to UTF-8 reads as a bad recover value. */
static gboolean
recover_valid (SoupServerMessage *msg)
{
  g_autofree char *value = NULL;
  g_autoptr(GHashTable) rooms = NULL;
  gboolean present;

  value = owl_recover_find (g_uri_get_query (soup_server_message_get_uri (msg)), &present);
  if (!present)
    return TRUE;
  rooms = value != NULL ? owl_recover_parse (value) : NULL;
  return rooms != NULL;
}

/* After the slots are taken; FALSE when answered (and the slots given back). */
static gboolean
check_request (OwlUpgrade *upgrade)
{
  SoupServerMessage *msg = upgrade->msg;
  g_autoptr(GError) error = NULL;

  if (!owl_admission_origin_allowed (msg, upgrade->module, (const char * const *) upgrade->upgrades->allowed_origins))
    upgrade_refuse (upgrade, OWL_REFUSAL_ORIGIN, NULL, NULL);
  else if (!is_upgrade_request (msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Upgrade", "websocket");
      upgrade_refuse (upgrade, OWL_REFUSAL_NOT_WEBSOCKET, NULL, NULL);
    }
  else if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, NULL))
    upgrade_refuse (upgrade, OWL_REFUSAL_BAD_HANDSHAKE, NULL, NULL);
  else if (!recover_valid (msg))
    upgrade_refuse (upgrade, OWL_REFUSAL_RECOVER, NULL, NULL);
  else if (!owl_request_check_text (upgrade->request, &error))
    upgrade_refuse (upgrade, OWL_REFUSAL_NOT_TEXT, error, NULL);
  else
    return TRUE;
  return FALSE;
}

void
owl_upgrades_handle (OwlUpgrades       *self,
                     SoupServerMessage *msg)
{
  g_autoptr(GHashTable) params = NULL;
  OwlModule *module = NULL;
  OwlUpgrade *upgrade;
  OwlRefusal refusal;

  if (!precheck (self, msg, &module, &params))
    return;

  upgrade = g_new0 (OwlUpgrade, 1);
  upgrade->ref_count = 1;
  upgrade->upgrades = self;
  upgrade->module = g_object_ref (module);
  upgrade->request = owl_request_new (msg, g_steal_pointer (&params));
  upgrade->msg = g_object_ref (msg);

  if (!owl_admission_take (self->admission, owl_request_get_remote_host (upgrade->request),
                           &upgrade->slots, &refusal))
    upgrade_refuse (upgrade, refusal, NULL, NULL);
  else if (check_request (upgrade))
    {
      upgrade->run = owl_auth_chain_run (self->chain, owl_module_get_guards (module),
                                         owl_module_get_gates (module), upgrade->request,
                                         self->listener_limits->handshake_timeout, self->context,
                                         take_user_slot, on_auth_done, upgrade);
      if (upgrade->msg != NULL)
        upgrade_wait (upgrade);
    }
  upgrade_unref (upgrade);
}
