/* owl-attempt.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-attempt-private.h"

/**
 * OwlAttempt:
 *
 * One decision a [class@Owlsock.Guard] or a [class@Owlsock.Gate] owes the
 * service: the guard's [vfunc@Owlsock.Guard.authenticate] and the gate's
 * [vfunc@Owlsock.Gate.authorize] receive an attempt and answer it exactly
 * once, now or later, with [method@Owlsock.Attempt.accept] or
 * [method@Owlsock.Attempt.reject].
 *
 * An answer object rather than an `_async`/`_finish` pair of virtual
 * functions, so that Python and GJS subclasses answer from any callback
 * without building a `GTask` (as WebKit's policy decisions do). Keep a
 * reference to answer later: an attempt dropped without an answer is
 * answered `internal` (HTTP 500) and logged as a bug in the guard or gate.
 *
 * Answer in the thread of the service's main context. The attempt's
 * [method@Owlsock.Attempt.get_cancellable] is cancelled when the answer is
 * no longer wanted: the handshake timeout passed (the client got 503), the
 * client hung up (seen within a second on the service's own listener; on an
 * attached server only when libsoup drops the request), or the service
 * stopped. An answer after the cancellation is ignored.
 *
 * Since: 0.1
 */
struct _OwlAttempt
{
  GObject         parent_instance;

  OwlRequest     *request;
  OwlAuth        *auth;
  GCancellable   *cancellable;
  gboolean        for_gate;
  gboolean        answered;
  OwlAttemptFunc  func;
  gpointer        user_data;
};

G_DEFINE_FINAL_TYPE (OwlAttempt, owl_attempt, G_TYPE_OBJECT)

static void answer (OwlAttempt   *self,
                    OwlAuth      *auth,
                    const GError *error);

static void
owl_attempt_dispose (GObject *object)
{
  OwlAttempt *self = OWL_ATTEMPT (object);

  if (!self->answered)
    {
      g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_INTERNAL,
                                                     "The check was dropped without an answer");

      /* Dropping an attempt nobody waits for any more (cancelled: the
       * client went away, the time ran out) is what a guard should do;
       * the answer still goes out, to nobody, so its waiter is released. */
      if (!g_cancellable_is_cancelled (self->cancellable))
        g_warning ("A %s dropped its OwlAttempt without answering it",
                   self->for_gate ? "gate" : "guard");
      answer (self, NULL, error);
    }

  g_clear_object (&self->request);
  g_clear_object (&self->auth);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (owl_attempt_parent_class)->dispose (object);
}

static void
owl_attempt_class_init (OwlAttemptClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = owl_attempt_dispose;
}

static void
owl_attempt_init (OwlAttempt *self)
{
}

OwlAttempt *
owl_attempt_new (OwlRequest     *request,
                 OwlAuth        *auth,
                 gboolean        for_gate,
                 GCancellable   *cancellable,
                 OwlAttemptFunc  func,
                 gpointer        user_data)
{
  OwlAttempt *self = g_object_new (OWL_TYPE_ATTEMPT, NULL);

  self->request = g_object_ref (request);
  self->auth = auth ? g_object_ref (auth) : NULL;
  self->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  self->for_gate = for_gate;
  self->func = func;
  self->user_data = user_data;

  return self;
}

static void
answer (OwlAttempt   *self,
        OwlAuth      *auth,
        const GError *error)
{
  OwlAttemptFunc func = self->func;

  self->answered = TRUE;
  self->func = NULL;
  if (func != NULL)
    func (self, auth, error, self->user_data);
}

static gboolean
check_unanswered (OwlAttempt *self)
{
  if (self->answered)
    {
      g_critical ("This OwlAttempt was answered already");
      return FALSE;
    }
  return TRUE;
}

/**
 * owl_attempt_get_request:
 * @self: an attempt
 *
 * Gets the upgrade request being decided.
 *
 * Returns: (transfer none): the request
 *
 * Since: 0.1
 */
OwlRequest *
owl_attempt_get_request (OwlAttempt *self)
{
  g_return_val_if_fail (OWL_IS_ATTEMPT (self), NULL);

  return self->request;
}

/**
 * owl_attempt_get_auth:
 * @self: an attempt
 *
 * Gets the identity a gate decides about: what the module's guard accepted.
 *
 * Returns: (transfer none) (nullable): the identity, or %NULL for a guard's
 *   attempt
 *
 * Since: 0.1
 */
OwlAuth *
owl_attempt_get_auth (OwlAttempt *self)
{
  g_return_val_if_fail (OWL_IS_ATTEMPT (self), NULL);

  return self->auth;
}

/**
 * owl_attempt_get_cancellable:
 * @self: an attempt
 *
 * Gets a cancellable that is cancelled when the answer is no longer wanted;
 * pass it to the lookups the answer waits for.
 *
 * Returns: (transfer none): the cancellable
 *
 * Since: 0.1
 */
GCancellable *
owl_attempt_get_cancellable (OwlAttempt *self)
{
  g_return_val_if_fail (OWL_IS_ATTEMPT (self), NULL);

  return self->cancellable;
}

/**
 * owl_attempt_is_answered:
 * @self: an attempt
 *
 * Checks whether the attempt has its answer.
 *
 * Returns: %TRUE once accepted or rejected
 *
 * Since: 0.1
 */
gboolean
owl_attempt_is_answered (OwlAttempt *self)
{
  g_return_val_if_fail (OWL_IS_ATTEMPT (self), FALSE);

  return self->answered;
}

/**
 * owl_attempt_accept:
 * @self: an attempt
 * @auth: (nullable): the identity found; required from a guard, ignored
 *   from a gate
 *
 * Lets the request through this guard or gate.
 *
 * Since: 0.1
 */
void
owl_attempt_accept (OwlAttempt *self,
                    OwlAuth    *auth)
{
  g_return_if_fail (OWL_IS_ATTEMPT (self));
  g_return_if_fail (auth == NULL || OWL_IS_AUTH (auth));

  if (!check_unanswered (self))
    return;

  if (!self->for_gate && auth == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_INTERNAL,
                                                     "A guard accepted without an identity");

      g_critical ("A guard accepted an OwlAttempt without an OwlAuth");
      answer (self, NULL, error);
      return;
    }

  g_clear_object (&self->auth);
  if (!self->for_gate)
    self->auth = g_object_ref (auth);
  answer (self, self->auth, NULL);
}

/**
 * owl_attempt_reject:
 * @self: an attempt
 * @code: why: usually %OWL_ERROR_AUTH_FAILED from a guard (HTTP 401) and
 *   %OWL_ERROR_FORBIDDEN from a gate (HTTP 403)
 * @message: a short text for the client; never put a token or a secret in it
 *
 * Refuses the request. The client receives the HTTP status of @code, a JSON
 * body with its code string and @message, and no connection.
 *
 * Since: 0.1
 */
void
owl_attempt_reject (OwlAttempt *self,
                    OwlError    code,
                    const char *message)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (OWL_IS_ATTEMPT (self));
  g_return_if_fail (message != NULL);

  if (!check_unanswered (self))
    return;

  error = g_error_new_literal (OWL_ERROR, code, message);
  answer (self, NULL, error);
}

/**
 * owl_attempt_reject_error:
 * @self: an attempt
 * @error: why
 *
 * Refuses the request with @error. An error outside %OWL_ERROR reaches the
 * client as `auth-failed` (guards) or `forbidden` (gates) with a generic
 * message: its text stays in the server.
 *
 * Since: 0.1
 */
void
owl_attempt_reject_error (OwlAttempt   *self,
                          const GError *error)
{
  g_autoptr(GError) owl_error = NULL;

  g_return_if_fail (OWL_IS_ATTEMPT (self));
  g_return_if_fail (error != NULL);

  if (!check_unanswered (self))
    return;

  if (error->domain == OWL_ERROR)
    owl_error = g_error_copy (error);
  else if (self->for_gate)
    owl_error = g_error_new_literal (OWL_ERROR, OWL_ERROR_FORBIDDEN, "Not allowed");
  else
    owl_error = g_error_new_literal (OWL_ERROR, OWL_ERROR_AUTH_FAILED, "Authentication failed");
  answer (self, NULL, owl_error);
}
