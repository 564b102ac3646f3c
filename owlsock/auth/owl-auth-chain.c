/* owl-auth-chain.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-attempt-private.h"
#include "owl-auth-chain-private.h"

struct _OwlAuthChain
{
  GHashTable *guards;   /* alias -> OwlGuard */
  GHashTable *gates;    /* alias -> OwlGate */
};

struct _OwlAuthRun
{
  gint               ref_count;   /* the caller's, and each unanswered attempt's */
  /* The gates, resolved at the start (not the chain: a guard that keeps
   * its attempt would keep the chain, and with it itself). */
  GPtrArray         *gates;
  OwlGuard          *guard;       /* the one asked, kept till the end: it may be removed meanwhile */
  guint              next_gate;
  OwlRequest        *request;
  OwlAuth           *auth;
  GCancellable      *cancellable;
  GMainContext      *context;
  guint              timeout_s;
  GSource           *timeout;
  OwlAuthCheckFunc   check;
  OwlAuthDoneFunc    done;
  gpointer           user_data;
  gboolean           waiting;     /* an attempt is out, unanswered */
  gboolean           finished;    /* done ran, or the run was cancelled */
};

/* The registry ------------------------------------------------------------------ */

OwlAuthChain *
owl_auth_chain_new (void)
{
  OwlAuthChain *self = g_atomic_rc_box_new0 (OwlAuthChain);

  self->guards = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->gates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  return self;
}

OwlAuthChain *
owl_auth_chain_ref (OwlAuthChain *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
chain_clear (gpointer data)
{
  OwlAuthChain *self = data;

  g_hash_table_unref (self->guards);
  g_hash_table_unref (self->gates);
}

void
owl_auth_chain_unref (OwlAuthChain *self)
{
  if (self != NULL)
    g_atomic_rc_box_release_full (self, chain_clear);
}

static gboolean
add_alias (GHashTable  *table,
           const char  *kind,
           const char  *alias,
           gpointer     object,
           GError     **error)
{
  if (g_hash_table_contains (table, alias))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_EXISTS, "A %s with alias '%s' exists", kind, alias);
      return FALSE;
    }
  g_hash_table_insert (table, g_strdup (alias), g_object_ref (object));
  return TRUE;
}

gboolean
owl_auth_chain_add_guard (OwlAuthChain  *self,
                          const char    *alias,
                          OwlGuard      *guard,
                          GError       **error)
{
  return add_alias (self->guards, "guard", alias, guard, error);
}

gboolean
owl_auth_chain_add_gate (OwlAuthChain  *self,
                         const char    *alias,
                         OwlGate       *gate,
                         GError       **error)
{
  return add_alias (self->gates, "gate", alias, gate, error);
}

gboolean
owl_auth_chain_remove_guard (OwlAuthChain *self,
                             const char   *alias)
{
  return g_hash_table_remove (self->guards, alias);
}

gboolean
owl_auth_chain_remove_gate (OwlAuthChain *self,
                            const char   *alias)
{
  return g_hash_table_remove (self->gates, alias);
}

OwlGuard *
owl_auth_chain_lookup_guard (OwlAuthChain *self,
                             const char   *alias)
{
  return g_hash_table_lookup (self->guards, alias);
}

OwlGate *
owl_auth_chain_lookup_gate (OwlAuthChain *self,
                            const char   *alias)
{
  return g_hash_table_lookup (self->gates, alias);
}

static gboolean
check_alias_list (GHashTable          *table,
                  const char          *kind,
                  const char          *owner,
                  const char * const  *aliases,
                  GError             **error)
{
  for (guint i = 0; aliases != NULL && aliases[i] != NULL; i++)
    if (!g_hash_table_contains (table, aliases[i]))
      {
        g_set_error (error, OWL_ERROR, OWL_ERROR_NOT_FOUND,
                     "Module '%s' names %s '%s', which the service does not have", owner, kind, aliases[i]);
        return FALSE;
      }
  return TRUE;
}

gboolean
owl_auth_chain_check_aliases (OwlAuthChain        *self,
                              const char          *owner,
                              const char * const  *guards,
                              const char * const  *gates,
                              GError             **error)
{
  if (!check_alias_list (self->guards, "guard", owner, guards, error) ||
      !check_alias_list (self->gates, "gate", owner, gates, error))
    return FALSE;

  if (gates != NULL && gates[0] != NULL && (guards == NULL || guards[0] == NULL))
    {
      g_set_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
                   "Module '%s' has gates but no guard to authenticate for them", owner);
      return FALSE;
    }
  return TRUE;
}

/* A run ----------------------------------------------------------------------------- */

static OwlAuthRun *
run_ref (OwlAuthRun *run)
{
  run->ref_count++;
  return run;
}

static void
run_unref (OwlAuthRun *run)
{
  if (--run->ref_count > 0)
    return;
  g_assert (run->timeout == NULL);
  g_ptr_array_unref (run->gates);
  g_clear_object (&run->guard);
  g_object_unref (run->request);
  g_clear_object (&run->auth);
  g_clear_object (&run->cancellable);
  g_main_context_unref (run->context);
  g_free (run);
}

static void
stop_timeout (OwlAuthRun *run)
{
  if (run->timeout != NULL)
    {
      g_source_destroy (run->timeout);
      g_clear_pointer (&run->timeout, g_source_unref);
    }
}

/* A finished run lets go of its guard and gates: an attempt one of them
 * keeps keeps the run, which must not keep it in turn. */
static void
mark_finished (OwlAuthRun *run)
{
  run->finished = TRUE;
  stop_timeout (run);
  g_clear_object (&run->guard);
  g_ptr_array_set_size (run->gates, 0);
}

static void
finish (OwlAuthRun     *run,
        OwlAuthOutcome  outcome,
        const GError   *error)
{
  if (run->finished)
    return;
  mark_finished (run);
  run->done (run->user_data, outcome, outcome == OWL_AUTH_ACCEPTED ? run->auth : NULL, error);
}

static gboolean
timeout_cb (gpointer data)
{
  OwlAuthRun *run = run_ref (data);
  g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_TIMEOUT, "Authentication took too long");
  g_autoptr(GCancellable) cancellable = g_object_ref (run->cancellable);

  g_clear_pointer (&run->timeout, g_source_unref);
  finish (run, OWL_AUTH_TIMEOUT, error);
  /* After the answer: a guard may answer from its cancellable's handler. */
  g_cancellable_cancel (cancellable);
  run_unref (run);
  return G_SOURCE_REMOVE;
}

/* Called after handing out an attempt: one that is not answered yet makes
 * the run wait, within the timeout. */
static void
note_waiting (OwlAuthRun *run)
{
  if (!run->waiting || run->finished || run->timeout != NULL)
    return;
  run->timeout = g_timeout_source_new_seconds (run->timeout_s);
  g_source_set_callback (run->timeout, timeout_cb, run, NULL);
  g_source_set_static_name (run->timeout, "[owlsock] authentication timeout");
  g_source_attach (run->timeout, run->context);
}

static void next_gate (OwlAuthRun *run);

static void
on_gate_done (OwlAttempt   *attempt,
              OwlAuth      *auth,
              const GError *error,
              gpointer      user_data)
{
  OwlAuthRun *run = user_data;

  run->waiting = FALSE;
  if (run->finished)
    ;  /* timed out or cancelled meanwhile */
  else if (error != NULL)
    finish (run, OWL_AUTH_GATE, error);
  else
    {
      run->next_gate++;
      next_gate (run);
    }
  run_unref (run);
}

static void
next_gate (OwlAuthRun *run)
{
  g_autoptr(OwlAttempt) attempt = NULL;
  OwlGate *gate;

  if (run->next_gate == run->gates->len)
    {
      finish (run, OWL_AUTH_ACCEPTED, NULL);
      return;
    }

  gate = g_ptr_array_index (run->gates, run->next_gate);
  run->waiting = TRUE;
  attempt = owl_attempt_new (run->request, run->auth, TRUE, run->cancellable, on_gate_done, run_ref (run));
  OWL_GATE_GET_CLASS (gate)->authorize (gate, attempt);
}

static void
on_guard_done (OwlAttempt   *attempt,
               OwlAuth      *auth,
               const GError *error,
               gpointer      user_data)
{
  OwlAuthRun *run = user_data;
  g_autoptr(GError) refused = NULL;

  run->waiting = FALSE;
  if (run->finished)
    ;
  else if (error != NULL)
    finish (run, OWL_AUTH_GUARD, error);
  else if (run->check != NULL && !run->check (run->user_data, auth, &refused))
    finish (run, OWL_AUTH_CHECK, refused);
  else
    {
      run->auth = g_object_ref (auth);
      next_gate (run);
    }
  run_unref (run);
}

static OwlGuard *
match_guard (OwlAuthChain       *chain,
             const char * const *guards,
             OwlRequest         *request)
{
  for (guint i = 0; guards != NULL && guards[i] != NULL; i++)
    {
      OwlGuard *guard = g_hash_table_lookup (chain->guards, guards[i]);

      if (guard != NULL && owl_guard_match (guard, request))
        return guard;
    }
  return NULL;
}

OwlAuthRun *
owl_auth_chain_run (OwlAuthChain        *self,
                    const char * const  *guards,
                    const char * const  *gates,
                    OwlRequest          *request,
                    guint                timeout_s,
                    GMainContext        *context,
                    OwlAuthCheckFunc     check,
                    OwlAuthDoneFunc      done,
                    gpointer             user_data)
{
  OwlAuthRun *run = g_new0 (OwlAuthRun, 1);
  g_autoptr(OwlAttempt) attempt = NULL;
  const char *missing_gate = NULL;
  OwlGuard *guard;

  run->ref_count = 1;
  run->gates = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; gates != NULL && gates[i] != NULL; i++)
    {
      OwlGate *gate = g_hash_table_lookup (self->gates, gates[i]);

      if (gate != NULL)
        g_ptr_array_add (run->gates, g_object_ref (gate));
      else if (missing_gate == NULL)
        missing_gate = gates[i];
    }
  run->request = g_object_ref (request);
  run->context = g_main_context_ref (context);
  run->timeout_s = timeout_s;
  run->check = check;
  run->done = done;
  run->user_data = user_data;

  /* A gate removed after its module was added: nobody may pass it. */
  if (missing_gate != NULL)
    {
      g_autoptr(GError) error = g_error_new (OWL_ERROR, OWL_ERROR_FORBIDDEN, "The gate '%s' is gone", missing_gate);

      finish (run, OWL_AUTH_GATE, error);
      return run;
    }

  /* No guard at all: nothing to decide. Gates need a guard, which adding
   * the module checks; gates named later without one let nobody in. */
  if (guards == NULL || guards[0] == NULL)
    {
      g_autoptr(GError) error = NULL;

      if (run->gates->len > 0)
        error = g_error_new_literal (OWL_ERROR, OWL_ERROR_FORBIDDEN, "The gates have no guard");
      finish (run, error ? OWL_AUTH_GATE : OWL_AUTH_ACCEPTED, error);
      return run;
    }

  guard = match_guard (self, guards, request);
  if (guard == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (OWL_ERROR, OWL_ERROR_AUTH_FAILED, "Credentials required");

      finish (run, OWL_AUTH_NO_GUARD, error);
      return run;
    }

  run->guard = g_object_ref (guard);
  run->cancellable = g_cancellable_new ();
  run->waiting = TRUE;
  run_ref (run);   /* for the duration of the synchronous part */
  attempt = owl_attempt_new (request, NULL, FALSE, run->cancellable, on_guard_done, run_ref (run));
  OWL_GUARD_GET_CLASS (guard)->authenticate (guard, attempt);
  g_clear_object (&attempt);
  note_waiting (run);
  run_unref (run);
  return run;
}

gboolean
owl_auth_run_is_waiting (OwlAuthRun *run)
{
  return !run->finished;
}

void
owl_auth_run_cancel (OwlAuthRun *run)
{
  g_autoptr(GCancellable) cancellable = NULL;

  if (run->finished)
    return;
  mark_finished (run);
  /* Last: a guard may answer from the cancellable's handler, which must
   * find the run finished. */
  if (run->cancellable != NULL)
    {
      cancellable = g_object_ref (run->cancellable);
      g_cancellable_cancel (cancellable);
    }
}

void
owl_auth_run_free (OwlAuthRun *run)
{
  if (run == NULL)
    return;
  owl_auth_run_cancel (run);
  run_unref (run);
}
