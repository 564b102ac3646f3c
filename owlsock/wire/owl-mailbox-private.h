/* owl-mailbox-private.h: hand work from any thread to the service's context, in order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwlMailbox OwlMailbox;

typedef void (*OwlMailboxFunc) (gpointer op);

OwlMailbox *owl_mailbox_new   (GMainContext   *context,
                               OwlMailboxFunc  run,
                               GDestroyNotify  free_op);
OwlMailbox *owl_mailbox_ref   (OwlMailbox     *self);
void        owl_mailbox_unref (OwlMailbox     *self);
/* Runs @op now when the calling thread may run code on the context without
 * overtaking anything, else queues it; queued ops run in the order they
 * were posted. */
void        owl_mailbox_post  (OwlMailbox     *self,
                               gpointer        op);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlMailbox, owl_mailbox_unref)

G_END_DECLS
