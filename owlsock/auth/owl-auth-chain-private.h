/* owl-auth-chain-private.h: guards, then a check, then gates; for the upgrade and for a refresh
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The service's guards and gates, by alias, and the one way they decide: the
 * first guard whose match is true authenticates, the caller's check judges
 * the identity (the per-user limit at an upgrade; the same user and entity
 * at a refresh), then every gate must agree. A guard or gate may answer
 * later; the run is then bounded by a timeout (`timeout`), and it can be
 * cancelled (the client went away): the attempt's GCancellable fires and
 * no answer is reported.
 */

#pragma once

#include <gio/gio.h>

#include "owl-gate.h"
#include "owl-guard.h"

G_BEGIN_DECLS

typedef struct _OwlAuthChain OwlAuthChain;
typedef struct _OwlAuthRun OwlAuthRun;

/* Where a run ended. */
typedef enum
{
  OWL_AUTH_ACCEPTED,
  OWL_AUTH_NO_GUARD,   /* no guard of the list matches the request */
  OWL_AUTH_GUARD,      /* the guard refused */
  OWL_AUTH_CHECK,      /* the caller's check refused the identity */
  OWL_AUTH_GATE,       /* a gate refused */
  OWL_AUTH_TIMEOUT,    /* a guard or gate did not answer in time */
} OwlAuthOutcome;

OwlAuthChain *owl_auth_chain_new           (void);
OwlAuthChain *owl_auth_chain_ref           (OwlAuthChain        *self);
void          owl_auth_chain_unref         (OwlAuthChain        *self);
gboolean      owl_auth_chain_add_guard     (OwlAuthChain        *self,
                                            const char          *alias,
                                            OwlGuard            *guard,
                                            GError             **error);
gboolean      owl_auth_chain_add_gate      (OwlAuthChain        *self,
                                            const char          *alias,
                                            OwlGate             *gate,
                                            GError             **error);
/* Modules that name a removed guard no longer match it (401); one that
 * names a removed gate refuses everyone (403): never open by removal. */
gboolean      owl_auth_chain_remove_guard  (OwlAuthChain        *self,
                                            const char          *alias);
gboolean      owl_auth_chain_remove_gate   (OwlAuthChain        *self,
                                            const char          *alias);
OwlGuard     *owl_auth_chain_lookup_guard  (OwlAuthChain        *self,
                                            const char          *alias);
OwlGate      *owl_auth_chain_lookup_gate   (OwlAuthChain        *self,
                                            const char          *alias);
/* Every alias is known, and gates come with a guard; @owner names the
 * module in the error. */
gboolean      owl_auth_chain_check_aliases (OwlAuthChain        *self,
                                            const char          *owner,
                                            const char * const  *guards,
                                            const char * const  *gates,
                                            GError             **error);

/* Judges the identity a guard found, between the guard and the gates. */
typedef gboolean (*OwlAuthCheckFunc) (gpointer   user_data,
                                      OwlAuth   *auth,
                                      GError   **error);
/* The end of a run, once: @auth on acceptance (NULL with no guards),
 * @error otherwise. Not called after owl_auth_run_cancel(). */
typedef void     (*OwlAuthDoneFunc)  (gpointer        user_data,
                                      OwlAuthOutcome  outcome,
                                      OwlAuth        *auth,
                                      const GError   *error);

/* Starts a run; @done may be called before this returns (everything
 * answered at once). The returned run belongs to the caller (free it with
 * owl_auth_run_free(), which cancels it if it is still going). @timeout_s
 * starts once something answers later. */
OwlAuthRun   *owl_auth_chain_run           (OwlAuthChain        *self,
                                            const char * const  *guards,
                                            const char * const  *gates,
                                            OwlRequest          *request,
                                            guint                timeout_s,
                                            GMainContext        *context,
                                            OwlAuthCheckFunc     check,
                                            OwlAuthDoneFunc      done,
                                            gpointer             user_data);
/* Still waiting for a guard or gate. */
gboolean      owl_auth_run_is_waiting      (OwlAuthRun          *run);
void          owl_auth_run_cancel          (OwlAuthRun          *run);
void          owl_auth_run_free            (OwlAuthRun          *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlAuthChain, owl_auth_chain_unref)

G_END_DECLS
