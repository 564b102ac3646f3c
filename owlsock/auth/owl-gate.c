/* owl-gate.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-attempt-private.h"
#include "owl-gate.h"

/**
 * OwlGate:
 *
 * Authorization for the modules of a [class@Owlsock.SocketService], after
 * the guard: a gate sees the [class@Owlsock.Auth] the guard accepted and
 * the request, and lets it through or refuses it (HTTP 403).
 *
 * Gates are registered on the service by alias
 * ([method@Owlsock.SocketService.add_gate]); a module names the gates it
 * uses ([property@Owlsock.Module:gates]) and every one of them must accept.
 * A module with gates needs guards. Built in: [class@Owlsock.ScopeGate] and
 * [class@Owlsock.ParamGate]; subclass this class for anything else. Gates run
 * again when a client refreshes its token.
 *
 * Since: 0.1
 */

G_DEFINE_ABSTRACT_TYPE (OwlGate, owl_gate, G_TYPE_OBJECT)

static void
owl_gate_real_authorize (OwlGate    *self,
                         OwlAttempt *attempt)
{
  owl_attempt_reject (attempt, OWL_ERROR_FORBIDDEN, "Not allowed");
}

static void
owl_gate_class_init (OwlGateClass *klass)
{
  klass->authorize = owl_gate_real_authorize;
}

static void
owl_gate_init (OwlGate *self)
{
}

static void
authorize_done (OwlAttempt   *attempt,
                OwlAuth      *auth,
                const GError *error,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * owl_gate_authorize_async:
 * @self: a gate
 * @request: an upgrade request
 * @auth: the identity a guard accepted for @request
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the answer
 * @user_data: (closure): data for @callback
 *
 * Runs [vfunc@Owlsock.Gate.authorize]. The service does this for each
 * upgrade; call it yourself to test a gate.
 *
 * Since: 0.1
 */
void
owl_gate_authorize_async (OwlGate             *self,
                          OwlRequest          *request,
                          OwlAuth             *auth,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(OwlAttempt) attempt = NULL;
  GTask *task;

  g_return_if_fail (OWL_IS_GATE (self));
  g_return_if_fail (OWL_IS_REQUEST (request));
  g_return_if_fail (OWL_IS_AUTH (auth));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, owl_gate_authorize_async);
  attempt = owl_attempt_new (request, auth, TRUE, cancellable, authorize_done, task);
  OWL_GATE_GET_CLASS (self)->authorize (self, attempt);
}

/**
 * owl_gate_authorize_finish:
 * @self: a gate
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Owlsock.Gate.authorize_async].
 *
 * Returns: %TRUE if the gate let the request through
 *
 * Since: 0.1
 */
gboolean
owl_gate_authorize_finish (OwlGate       *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (OWL_IS_GATE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The scope gate ----------------------------------------------------------- */

/**
 * OwlScopeGate:
 *
 * A gate that lets through identities holding every one of its scopes, such
 * as `admin` for a monitoring endpoint.
 *
 * Since: 0.1
 */
struct _OwlScopeGate
{
  OwlGate   parent_instance;

  char    **scopes;
};

G_DEFINE_FINAL_TYPE (OwlScopeGate, owl_scope_gate, OWL_TYPE_GATE)

static void
owl_scope_gate_finalize (GObject *object)
{
  g_clear_pointer (&OWL_SCOPE_GATE (object)->scopes, g_strfreev);

  G_OBJECT_CLASS (owl_scope_gate_parent_class)->finalize (object);
}

static void
owl_scope_gate_authorize (OwlGate    *gate,
                          OwlAttempt *attempt)
{
  OwlScopeGate *self = OWL_SCOPE_GATE (gate);
  OwlAuth *auth = owl_attempt_get_auth (attempt);

  for (guint i = 0; self->scopes[i] != NULL; i++)
    if (!owl_auth_has_scope (auth, self->scopes[i]))
      {
        owl_attempt_reject (attempt, OWL_ERROR_FORBIDDEN, "A required scope is missing");
        return;
      }
  owl_attempt_accept (attempt, NULL);
}

static void
owl_scope_gate_class_init (OwlScopeGateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_scope_gate_finalize;
  OWL_GATE_CLASS (klass)->authorize = owl_scope_gate_authorize;
}

static void
owl_scope_gate_init (OwlScopeGate *self)
{
}

/**
 * owl_scope_gate_new:
 * @scopes: (array zero-terminated=1): the scopes an identity must all hold
 *
 * Creates a gate that requires every scope of @scopes.
 *
 * Returns: (transfer full): a new gate
 *
 * Since: 0.1
 */
OwlGate *
owl_scope_gate_new (const char * const *scopes)
{
  OwlScopeGate *self;

  g_return_val_if_fail (scopes != NULL, NULL);

  self = g_object_new (OWL_TYPE_SCOPE_GATE, NULL);
  self->scopes = g_strdupv ((char **) scopes);
  return OWL_GATE (self);
}

/* The param gate ----------------------------------------------------------- */

/**
 * OwlParamGate:
 *
 * A gate that lets a request through when one of its route params equals a
 * claim of the identity: `/ws/user/:userId` with the param `userId` and the
 * claim `sub` is open to that user only.
 *
 * Since: 0.1
 */
struct _OwlParamGate
{
  OwlGate  parent_instance;

  char    *param;
  char    *claim;
};

G_DEFINE_FINAL_TYPE (OwlParamGate, owl_param_gate, OWL_TYPE_GATE)

static void
owl_param_gate_finalize (GObject *object)
{
  OwlParamGate *self = OWL_PARAM_GATE (object);

  g_clear_pointer (&self->param, g_free);
  g_clear_pointer (&self->claim, g_free);

  G_OBJECT_CLASS (owl_param_gate_parent_class)->finalize (object);
}

static void
owl_param_gate_authorize (OwlGate    *gate,
                          OwlAttempt *attempt)
{
  OwlParamGate *self = OWL_PARAM_GATE (gate);
  const char *value = owl_request_get_param (owl_attempt_get_request (attempt), self->param);
  const char *claim = owl_auth_get_claim_string (owl_attempt_get_auth (attempt), self->claim);

  if (value != NULL && claim != NULL && g_str_equal (value, claim))
    owl_attempt_accept (attempt, NULL);
  else
    owl_attempt_reject (attempt, OWL_ERROR_FORBIDDEN, "Not allowed for this path");
}

static void
owl_param_gate_class_init (OwlParamGateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = owl_param_gate_finalize;
  OWL_GATE_CLASS (klass)->authorize = owl_param_gate_authorize;
}

static void
owl_param_gate_init (OwlParamGate *self)
{
}

/**
 * owl_param_gate_new:
 * @param: a route param name, without the `:`
 * @claim: (nullable): the claim it must equal; %NULL for `sub`, the user id
 *
 * Creates a gate that requires the route param @param to equal the claim
 * @claim of the identity (see [method@Owlsock.Auth.get_claim_string]).
 *
 * Returns: (transfer full): a new gate
 *
 * Since: 0.1
 */
OwlGate *
owl_param_gate_new (const char *param,
                    const char *claim)
{
  OwlParamGate *self;

  g_return_val_if_fail (param != NULL, NULL);

  self = g_object_new (OWL_TYPE_PARAM_GATE, NULL);
  self->param = g_strdup (param);
  self->claim = g_strdup (claim ? claim : "sub");
  return OWL_GATE (self);
}
