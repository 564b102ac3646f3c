/* owl-mailbox.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * g_main_context_invoke() is not enough here: a worker thread with no
 * thread-default context may acquire an idle default context and run the op
 * itself, overtaking ops it queued a moment before, and touching libsoup
 * from the wrong thread. A mailbox keeps one FIFO per object, drained by one
 * source on the object's context; only the context's own thread runs ops
 * directly.
 */

#include <string.h>

#include "owl-mailbox-private.h"

struct _OwlMailbox
{
  gint                   ref_count;
  GMainContext          *context;
  const OwlMailboxClass *klass;

  GMutex                 mutex;
  GQueue                 queue;     /* copies of ops */
  gboolean               scheduled;
};

static OwlMailbox *
owl_mailbox_new (GMainContext          *context,
                 const OwlMailboxClass *klass)
{
  OwlMailbox *self = g_new0 (OwlMailbox, 1);

  self->ref_count = 1;
  self->context = g_main_context_ref (context);
  self->klass = klass;
  g_mutex_init (&self->mutex);
  g_queue_init (&self->queue);

  return self;
}

static OwlMailbox *
owl_mailbox_ref (OwlMailbox *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
owl_mailbox_unref (OwlMailbox *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->ref_count))
    return;

  /* Sources hold references, so nothing is queued any more. */
  g_main_context_unref (self->context);
  g_mutex_clear (&self->mutex);
  g_free (self);
}

static void
run_op (const OwlMailboxClass *klass,
        gpointer               op)
{
  klass->run (op);
  klass->clear (op);
}

static gboolean
drain (gpointer data)
{
  OwlMailbox *self = data;
  GQueue batch = G_QUEUE_INIT;
  gpointer op;

  g_mutex_lock (&self->mutex);
  batch = self->queue;
  g_queue_init (&self->queue);
  self->scheduled = FALSE;
  g_mutex_unlock (&self->mutex);

  while ((op = g_queue_pop_head (&batch)) != NULL)
    {
      run_op (self->klass, op);
      g_free (op);
    }

  return G_SOURCE_REMOVE;
}

static gboolean
is_empty (OwlMailbox *self)
{
  gboolean empty;

  if (self == NULL)
    return TRUE;
  g_mutex_lock (&self->mutex);
  empty = self->queue.length == 0;
  g_mutex_unlock (&self->mutex);
  return empty;
}

static void
post_copy (OwlMailbox *self,
           gpointer    copy)
{
  gboolean schedule;

  g_mutex_lock (&self->mutex);
  g_queue_push_tail (&self->queue, copy);
  schedule = !self->scheduled;
  self->scheduled = TRUE;
  g_mutex_unlock (&self->mutex);

  if (schedule)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, drain, owl_mailbox_ref (self),
                             (GDestroyNotify) owl_mailbox_unref);
      g_source_set_static_name (source, "[owlsock] mailbox");
      g_source_attach (source, self->context);
      g_source_unref (source);
    }
}

/* The context's own thread may run code on it now: inside a dispatch (it
 * owns the context), or between iterations (it can take the context).
 * Another thread that could take an idle context must not: it would touch
 * libsoup from the wrong thread and overtake what it queued before. */
static gboolean
may_run_here (GMainContext *context,
              GThread      *home)
{
  if (g_main_context_is_owner (context))
    return TRUE;
  if (g_thread_self () != home || !g_main_context_acquire (context))
    return FALSE;
  g_main_context_release (context);
  return TRUE;
}

gboolean
owl_mailbox_may_run_now (OwlMailbox   **mailbox,
                         GMainContext  *context,
                         GThread       *home)
{
  return may_run_here (context, home) && is_empty (g_atomic_pointer_get (mailbox));
}

void
owl_mailbox_submit (OwlMailbox            **mailbox,
                    GMainContext           *context,
                    GThread                *home,
                    const OwlMailboxClass  *klass,
                    gpointer                op,
                    gsize                   op_size)
{
  if (owl_mailbox_may_run_now (mailbox, context, home))
    {
      run_op (klass, op);
      return;
    }

  if (g_once_init_enter (mailbox))
    g_once_init_leave (mailbox, owl_mailbox_new (context, klass));
  post_copy (*mailbox, g_memdup2 (op, op_size));
}
