/* owl-guard.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-attempt-private.h"
#include "owl-guard.h"

/**
 * OwlGuard:
 *
 * Authentication for the modules of a [class@Owlsock.SocketService].
 *
 * Guards are registered on the service by alias
 * ([method@Owlsock.SocketService.add_guard]) and a module names the aliases
 * it uses, in order ([property@Owlsock.Module:guards]). For each upgrade
 * request the first guard whose [vfunc@Owlsock.Guard.match] is true decides:
 * its [vfunc@Owlsock.Guard.authenticate] accepts the
 * [class@Owlsock.Attempt] with an [class@Owlsock.Auth] or rejects it (HTTP
 * 401 with `WWW-Authenticate: Bearer`). When no guard matches, the request is
 * refused with 401 too.
 *
 * owlsock has a JWT guard ([class@Owlsock.JwtGuard]); subclass this class
 * for anything else. A guard written in Python:
 *
 * ```python
 * class KeyGuard(Owlsock.Guard):
 *     def do_match(self, request):
 *         return request.get_header("X-Api-Key") is not None
 *
 *     def do_authenticate(self, attempt):
 *         key = attempt.get_request().get_header("X-Api-Key")
 *         def found(user):
 *             if user is None:
 *                 attempt.reject(Owlsock.Error.AUTH_FAILED, "Unknown key")
 *             else:
 *                 attempt.accept(Owlsock.Auth(user_id=user, scopes=["chat"]))
 *         lookup_user_async(key, found)
 * ```
 *
 * Since: 0.1
 */

G_DEFINE_ABSTRACT_TYPE (OwlGuard, owl_guard, G_TYPE_OBJECT)

static gboolean
owl_guard_real_match (OwlGuard   *self,
                      OwlRequest *request)
{
  return TRUE;
}

static void
owl_guard_real_authenticate (OwlGuard   *self,
                             OwlAttempt *attempt)
{
  owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "Authentication failed");
}

static void
owl_guard_class_init (OwlGuardClass *klass)
{
  klass->match = owl_guard_real_match;
  klass->authenticate = owl_guard_real_authenticate;
}

static void
owl_guard_init (OwlGuard *self)
{
}

/**
 * owl_guard_match:
 * @self: a guard
 * @request: an upgrade request
 *
 * Asks whether @self applies to @request.
 *
 * Returns: %TRUE if @self should decide about @request
 *
 * Since: 0.1
 */
gboolean
owl_guard_match (OwlGuard   *self,
                 OwlRequest *request)
{
  g_return_val_if_fail (OWL_IS_GUARD (self), FALSE);
  g_return_val_if_fail (OWL_IS_REQUEST (request), FALSE);

  return OWL_GUARD_GET_CLASS (self)->match (self, request);
}

static void
authenticate_done (OwlAttempt   *attempt,
                   OwlAuth      *auth,
                   const GError *error,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_pointer (task, g_object_ref (auth), g_object_unref);
}

/**
 * owl_guard_authenticate_async:
 * @self: a guard
 * @request: an upgrade request
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called with the answer
 * @user_data: (closure): data for @callback
 *
 * Runs [vfunc@Owlsock.Guard.authenticate] on @request. The service does
 * this for each upgrade; call it yourself to test a guard, or to check a
 * token from elsewhere.
 *
 * Since: 0.1
 */
void
owl_guard_authenticate_async (OwlGuard            *self,
                              OwlRequest          *request,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(OwlAttempt) attempt = NULL;
  GTask *task;

  g_return_if_fail (OWL_IS_GUARD (self));
  g_return_if_fail (OWL_IS_REQUEST (request));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, owl_guard_authenticate_async);
  attempt = owl_attempt_new (request, NULL, FALSE, cancellable, authenticate_done, task);
  OWL_GUARD_GET_CLASS (self)->authenticate (self, attempt);
}

/**
 * owl_guard_authenticate_finish:
 * @self: a guard
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Owlsock.Guard.authenticate_async].
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 *
 * Since: 0.1
 */
OwlAuth *
owl_guard_authenticate_finish (OwlGuard      *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (OWL_IS_GUARD (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
