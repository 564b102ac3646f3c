/* owl-mailbox-private.h: run work on an object's main context, from any thread, in order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The one place owlsock decides "run here, or hand it to the owner's
 * context": sends, closes and broadcasts made from other threads all go
 * through owl_mailbox_submit().
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwlMailbox OwlMailbox;

typedef struct
{
  void (*run)   (gpointer op);
  /* Releases what @op holds (not @op itself). */
  void (*clear) (gpointer op);
} OwlMailboxClass;

/* Runs @op (@op_size bytes, usually on the caller's stack) at once when
 * the calling thread may run code on @context (it owns it, or it is @home,
 * the thread that runs @context, between iterations) and nothing is
 * queued; otherwise copies it into *@mailbox, created on first need (an
 * object that never hears from another thread never has one), and runs it
 * on @context's thread after what was queued before. Either way @op's
 * contents belong to the mailbox afterwards. */
void owl_mailbox_submit (OwlMailbox            **mailbox,
                         GMainContext           *context,
                         GThread                *home,
                         const OwlMailboxClass  *klass,
                         gpointer                op,
                         gsize                   op_size);
void owl_mailbox_unref  (OwlMailbox             *self);
/* Whether owl_mailbox_submit() would run an op at once (for a caller that
 * then need not copy what the op points to). */
gboolean owl_mailbox_may_run_now (OwlMailbox   **mailbox,
                                  GMainContext  *context,
                                  GThread       *home);

G_END_DECLS
