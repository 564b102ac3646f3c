/* owl-attempt-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-attempt.h"

G_BEGIN_DECLS

/* Called once with the answer: @auth (guards) or %NULL (gates) on
 * acceptance, @error otherwise. */
typedef void (*OwlAttemptFunc) (OwlAttempt   *attempt,
                                OwlAuth      *auth,
                                const GError *error,
                                gpointer      user_data);

OwlAttempt *owl_attempt_new (OwlRequest     *request,
                             OwlAuth        *auth,
                             gboolean        for_gate,
                             GCancellable   *cancellable,
                             OwlAttemptFunc  func,
                             gpointer        user_data);

G_END_DECLS
