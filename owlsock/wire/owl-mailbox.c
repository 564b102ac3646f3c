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

#include "owl-mailbox-private.h"

struct _OwlMailbox
{
  gint            ref_count;
  GMainContext   *context;
  GThread        *home;      /* the thread that created the mailbox */
  OwlMailboxFunc  run;
  GDestroyNotify  free_op;

  GMutex          mutex;
  GQueue          queue;
  gboolean        scheduled;
};

OwlMailbox *
owl_mailbox_new (GMainContext   *context,
                 OwlMailboxFunc  run,
                 GDestroyNotify  free_op)
{
  OwlMailbox *self = g_new0 (OwlMailbox, 1);

  self->ref_count = 1;
  self->context = g_main_context_ref (context);
  self->home = g_thread_self ();
  self->run = run;
  self->free_op = free_op;
  g_mutex_init (&self->mutex);
  g_queue_init (&self->queue);

  return self;
}

OwlMailbox *
owl_mailbox_ref (OwlMailbox *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
owl_mailbox_unref (OwlMailbox *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  /* Sources hold references, so nothing is queued any more. */
  g_main_context_unref (self->context);
  g_mutex_clear (&self->mutex);
  g_free (self);
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
      self->run (op);
      self->free_op (op);
    }

  return G_SOURCE_REMOVE;
}

void
owl_mailbox_post (OwlMailbox *self,
                  gpointer    op)
{
  gboolean schedule;

  /* The context's own thread, between iterations (code run before the loop
   * starts, or between manual iterations): run now if nothing waits. */
  if (g_thread_self () == self->home && g_main_context_acquire (self->context))
    {
      gboolean empty;

      g_mutex_lock (&self->mutex);
      empty = self->queue.length == 0;
      g_mutex_unlock (&self->mutex);

      if (empty)
        {
          self->run (op);
          self->free_op (op);
          g_main_context_release (self->context);
          return;
        }
      g_main_context_release (self->context);
    }

  g_mutex_lock (&self->mutex);
  g_queue_push_tail (&self->queue, op);
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
