/* owl-connection-auth.c: a connection's identity over time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A client refreshes its token in-band; the new token goes through the
 * module's guard and gates by the same auth chain as the upgrade, with the
 * same timeout and cancellation (the connection closing cancels it). An
 * identity that expires is announced `auth-expiry-notice` seconds before,
 * and the connection is closed with 4001 when it passes.
 */

#include "owl-connection-private.h"
#include "owl-envelope-private.h"
#include "owl-json-private.h"
#include "owl-log-private.h"
#include "owl-module-private.h"
#include "owl-request-private.h"

static void
send_frame (OwlConnection *self,
            char          *frame,
            gsize          len)
{
  owl_channel_send_take (self->channel, frame, len, NULL);
}

void
owl_connection_refresh_free (OwlRefresh *refresh)
{
  g_clear_pointer (&refresh->run, owl_auth_run_free);
  g_clear_pointer (&refresh->id, json_node_unref);
  g_clear_object (&refresh->request);
  g_free (refresh);
}

/* A refresh renews scopes and expiry, never who the connection is for:
 * rooms, per-user limits and the application's state were set up for the
 * user and entity it was opened with. An entity where there was none, or
 * none where there was one, is another entity too. */
static gboolean
same_identity (gpointer   user_data,
               OwlAuth   *renewed,
               GError   **error)
{
  OwlConnection *self = user_data;
  OwlAuth *current = owl_request_get_auth (self->request);

  if (!g_str_equal (owl_auth_get_user_id (renewed), owl_auth_get_user_id (current)))
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_FORBIDDEN, "The token is for another user");
      return FALSE;
    }
  if (g_strcmp0 (owl_auth_get_entity_id (renewed), owl_auth_get_entity_id (current)) != 0)
    {
      g_set_error_literal (error, OWL_ERROR, OWL_ERROR_FORBIDDEN, "The token is for another entity");
      return FALSE;
    }
  return TRUE;
}

static void
refresh_apply (OwlConnection *self,
               OwlAuth       *auth)
{
  OwlEnvelopeIdentity who = {
    owl_auth_get_user_id (auth), owl_auth_get_entity_id (auth),
    owl_auth_get_scopes (auth), owl_auth_get_expires_at (auth),
  };
  gsize len;
  char *frame;

  owl_request_set_auth (self->request, auth);
  self->auth_noticed = FALSE;
  owl_connection_notify_auth (self);
  OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Token refreshed");

  frame = owl_envelope_authenticated (self->refresh->id, &who, &len);
  send_frame (self, frame, len);
}

static void
refresh_done (gpointer        user_data,
              OwlAuthOutcome  outcome,
              OwlAuth        *auth,
              const GError   *error)
{
  OwlConnection *self = user_data;
  g_autoptr(GError) no_guard = NULL;
  gsize len;
  char *frame;

  if (outcome == OWL_AUTH_ACCEPTED)
    refresh_apply (self, auth);
  else
    {
      if (outcome == OWL_AUTH_NO_GUARD)
        error = no_guard = g_error_new_literal (OWL_ERROR, OWL_ERROR_AUTH_FAILED, "No guard takes this token");
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Token refresh refused: %s",
                    error->domain == OWL_ERROR ? owl_error_code_to_string (error->code) : "failed");
      frame = owl_envelope_error_for (self->refresh->id, error, &len);
      send_frame (self, frame, len);
    }

  /* The run ends with this call; it may not have been stored yet (an
   * answer at once: the caller frees it). */
  if (self->refresh->run != NULL)
    g_clear_pointer (&self->refresh, owl_connection_refresh_free);
}

/* {type: "auth", id?, stage: "authenticate", payload: {token}} */
void
owl_connection_refresh (OwlConnection *self,
                        JsonObject    *object)
{
  const char *stage = owl_json_object_get_string (object, "stage");
  JsonNode *payload = json_object_get_member (object, "payload");
  const char *token = NULL;
  OwlAuthRun *run;
  JsonNode *id;
  char buf[32];

  owl_json_object_get_id (object, buf, &id);
  if (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload))
    token = owl_json_object_get_string (json_node_get_object (payload), "token");
  if (g_strcmp0 (stage, "authenticate") != 0 || token == NULL || token[0] == '\0')
    {
      owl_channel_send_error_literal (self->channel, id, OWL_ERROR_MALFORMED,
                                      "Expected {type: \"auth\", stage: \"authenticate\", payload: {token}}");
      return;
    }
  /* Admitted without a guard, or the module has none now. */
  if (owl_request_get_auth (self->request) == NULL || owl_module_get_guards (self->module) == NULL ||
      owl_module_get_guards (self->module)[0] == NULL)
    {
      owl_channel_send_error_literal (self->channel, id, OWL_ERROR_UNSUPPORTED, "This endpoint has no guards");
      return;
    }
  /* Asked for with an id or without. */
  if (self->refresh != NULL)
    {
      owl_channel_send_error_literal (self->channel, id, OWL_ERROR_UNAVAILABLE,
                                      "A token refresh is under way already");
      return;
    }

  self->refresh = g_new0 (OwlRefresh, 1);
  self->refresh->id = id ? json_node_copy (id) : NULL;
  self->refresh->request = owl_request_new_with_token (self->request, token);
  run = owl_auth_chain_run (self->host->chain, owl_module_get_guards (self->module),
                            owl_module_get_gates (self->module), self->refresh->request,
                            self->host->auth_timeout, self->host->context,
                            same_identity, refresh_done, self);
  if (owl_auth_run_is_waiting (run))
    self->refresh->run = run;
  else
    {
      owl_auth_run_free (run);
      g_clear_pointer (&self->refresh, owl_connection_refresh_free);
    }
}

/* Tells the client before its identity expires, and closes with 4001 when
 * it did not refresh in time. */
void
owl_connection_check_expiry (OwlConnection *self)
{
  OwlAuth *auth = owl_request_get_auth (self->request);
  gint64 expires_at, now;
  gsize len;
  char *frame;

  if (auth == NULL || (expires_at = owl_auth_get_expires_at (auth)) == 0)
    return;

  now = g_get_real_time () / G_USEC_PER_SEC;
  if (now >= expires_at)
    {
      OWL_CONN_LOG (G_LOG_LEVEL_DEBUG, self->id, "Closing: the token expired");
      owl_connection_close_now (self, OWL_CLOSE_AUTH_EXPIRED, "Token expired");
      return;
    }

  if (!self->auth_noticed && now >= expires_at - self->host->auth_expiry_notice)
    {
      self->auth_noticed = TRUE;
      frame = owl_envelope_auth_expiring (expires_at, expires_at - now, &len);
      send_frame (self, frame, len);
    }
}
