/* owl-poller.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <unistd.h>
#ifdef HAVE_EPOLL
# include <sys/epoll.h>
#endif

#include "owl-poller-private.h"

/* Events handled per dispatch: a bound, so timers and other sources of the
 * context get their turn even when every socket is busy. */
#define OWL_POLLER_BATCH 256

struct _OwlPollerWatch
{
  int            fd;
  guint          events;
  OwlPollerFunc  func;
  gpointer       user_data;
  gboolean       removed;
  gboolean       kicked;
#ifndef HAVE_EPOLL
  gpointer       tag;
#endif
};

typedef struct
{
  guint             id;
  OwlPollerTickFunc func;
  gpointer          user_data;
} OwlPollerTick;

struct _OwlPollerDeadline
{
  gint64                 due;        /* -1: disarmed */
  OwlPollerDeadlineFunc  func;
  gpointer               user_data;
  guint                  index;      /* in the poller's deadlines */
  gboolean               removed;
};

typedef struct
{
  GSource    source;
  OwlPoller *poller;
} OwlPollerSource;

struct _OwlPoller
{
  gint          ref_count;
  GMainContext *context;
  GSource      *source;
  GSource      *tick_source;
  GArray       *ticks;      /* OwlPollerTick */
  guint         next_tick_id;
  GSource      *deadline_source;
  GPtrArray    *deadlines;  /* OwlPollerDeadline, owned */
  GPtrArray    *graveyard;  /* removed watches, freed after dispatch */
  GPtrArray    *kicked;     /* watches to call on the next dispatch */
  guint         dispatching;
  guint64       serial;     /* dispatches so far */
#ifdef HAVE_EPOLL
  int           epfd;
  gpointer      epfd_tag;
#else
  GPtrArray    *watches;
#endif
};

static GMutex pollers_mutex;
static GHashTable *pollers;  /* GMainContext -> OwlPoller (not owned) */

/* Takes the watches kicked before this dispatch. Kicks made while it runs
 * are for the next one, so a watch that keeps kicking itself gets one call
 * per dispatch, like a readable socket, and other sources get their turn. */
static GPtrArray *
take_kicked (OwlPoller *self)
{
  GPtrArray *batch;

  self->serial++;
  g_source_set_ready_time (self->source, -1);
  if (self->kicked->len == 0)
    return NULL;

  batch = g_steal_pointer (&self->kicked);
  self->kicked = g_ptr_array_new ();
  for (guint i = 0; i < batch->len; i++)
    ((OwlPollerWatch *) g_ptr_array_index (batch, i))->kicked = FALSE;
  return batch;
}

/* A watch removed meanwhile is still in memory (the graveyard waits for
 * the dispatch to end) and is skipped. */
static void
run_kicked (GPtrArray *batch)
{
  if (batch == NULL)
    return;

  for (guint i = 0; i < batch->len; i++)
    {
      OwlPollerWatch *watch = g_ptr_array_index (batch, i);

      if (!watch->removed)
        watch->func (watch->user_data, OWL_POLL_IN);
    }
  g_ptr_array_unref (batch);
}

static void
bury_dead (OwlPoller *self)
{
  if (self->dispatching == 0 && self->graveyard->len > 0)
    g_ptr_array_set_size (self->graveyard, 0);
}

#ifdef HAVE_EPOLL

static guint32
to_epoll (guint events)
{
  return ((events & OWL_POLL_IN) ? EPOLLIN : 0) |
         ((events & OWL_POLL_OUT) ? EPOLLOUT : 0) |
         EPOLLRDHUP;
}

static gboolean
poller_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  OwlPoller *self = ((OwlPollerSource *) source)->poller;
  struct epoll_event events[OWL_POLLER_BATCH];
  GPtrArray *kicked = take_kicked (self);
  int n;

  n = epoll_wait (self->epfd, events, G_N_ELEMENTS (events), 0);

  self->dispatching++;
  for (int i = 0; i < n; i++)
    {
      OwlPollerWatch *watch = events[i].data.ptr;
      guint32 e = events[i].events;
      guint mask = 0;

      if (watch->removed)
        continue;
      if (e & EPOLLIN)
        mask |= OWL_POLL_IN;
      if (e & EPOLLOUT)
        mask |= OWL_POLL_OUT;
      if (e & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        mask |= OWL_POLL_ERR | OWL_POLL_IN;
      watch->func (watch->user_data, mask);
    }
  run_kicked (kicked);
  self->dispatching--;
  bury_dead (self);

  return G_SOURCE_CONTINUE;
}

#else /* !HAVE_EPOLL */

static gboolean
poller_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  OwlPoller *self = ((OwlPollerSource *) source)->poller;
  g_autoptr(GPtrArray) ready = g_ptr_array_new ();
  GPtrArray *kicked = take_kicked (self);

  for (guint i = 0; i < self->watches->len; i++)
    {
      OwlPollerWatch *watch = g_ptr_array_index (self->watches, i);

      if (g_source_query_unix_fd (source, watch->tag) != 0)
        g_ptr_array_add (ready, watch);
    }

  self->dispatching++;
  for (guint i = 0; i < ready->len && i < OWL_POLLER_BATCH; i++)
    {
      OwlPollerWatch *watch = g_ptr_array_index (ready, i);
      GIOCondition cond;
      guint mask = 0;

      if (watch->removed)
        continue;
      cond = g_source_query_unix_fd (source, watch->tag);
      if (cond & G_IO_IN)
        mask |= OWL_POLL_IN;
      if (cond & G_IO_OUT)
        mask |= OWL_POLL_OUT;
      if (cond & (G_IO_HUP | G_IO_ERR))
        mask |= OWL_POLL_ERR | OWL_POLL_IN;
      watch->func (watch->user_data, mask);
    }
  run_kicked (kicked);
  self->dispatching--;
  bury_dead (self);

  return G_SOURCE_CONTINUE;
}

static GIOCondition
to_condition (guint events)
{
  return ((events & OWL_POLL_IN) ? G_IO_IN : 0) |
         ((events & OWL_POLL_OUT) ? G_IO_OUT : 0) |
         G_IO_HUP | G_IO_ERR;
}

#endif /* HAVE_EPOLL */

static GSourceFuncs poller_source_funcs = {
  .dispatch = poller_dispatch,
};

static gboolean
tick_cb (gpointer data)
{
  OwlPoller *self = data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GArray) ticks = NULL;

  /* A tick function may add or remove ticks: run over a copy. */
  ticks = g_array_copy (self->ticks);
  self->dispatching++;
  for (guint i = 0; i < ticks->len; i++)
    {
      OwlPollerTick *tick = &g_array_index (ticks, OwlPollerTick, i);
      gboolean alive = FALSE;

      for (guint j = 0; j < self->ticks->len; j++)
        alive |= g_array_index (self->ticks, OwlPollerTick, j).id == tick->id;
      if (alive)
        tick->func (tick->user_data, now);
    }
  self->dispatching--;
  bury_dead (self);

  return G_SOURCE_CONTINUE;
}

static OwlPoller *
owl_poller_new (GMainContext *context)
{
  OwlPoller *self = g_new0 (OwlPoller, 1);

  self->ref_count = 1;
  self->context = g_main_context_ref (context);
  self->ticks = g_array_new (FALSE, FALSE, sizeof (OwlPollerTick));
  self->deadlines = g_ptr_array_new_with_free_func (g_free);
  self->graveyard = g_ptr_array_new_with_free_func (g_free);
  self->kicked = g_ptr_array_new ();

  self->source = g_source_new (&poller_source_funcs, sizeof (OwlPollerSource));
  ((OwlPollerSource *) self->source)->poller = self;
  g_source_set_static_name (self->source, "[owlsock] poller");
#ifdef HAVE_EPOLL
  self->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->epfd < 0)
    g_error ("epoll_create1: %s", g_strerror (errno));
  self->epfd_tag = g_source_add_unix_fd (self->source, self->epfd, G_IO_IN);
#else
  self->watches = g_ptr_array_new ();
#endif
  g_source_attach (self->source, context);

  return self;
}

OwlPoller *
owl_poller_ref_for_context (GMainContext *context)
{
  OwlPoller *self;

  g_mutex_lock (&pollers_mutex);
  if (pollers == NULL)
    pollers = g_hash_table_new (NULL, NULL);

  self = g_hash_table_lookup (pollers, context);
  if (self != NULL)
    g_atomic_int_inc (&self->ref_count);
  else
    {
      self = owl_poller_new (context);
      g_hash_table_insert (pollers, context, self);
    }
  g_mutex_unlock (&pollers_mutex);

  return self;
}

void
owl_poller_unref (OwlPoller *self)
{
  g_mutex_lock (&pollers_mutex);
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    {
      g_mutex_unlock (&pollers_mutex);
      return;
    }
  g_hash_table_remove (pollers, self->context);
  g_mutex_unlock (&pollers_mutex);

  if (self->tick_source != NULL)
    {
      g_source_destroy (self->tick_source);
      g_source_unref (self->tick_source);
    }
  g_source_destroy (self->source);
  g_source_unref (self->source);
#ifdef HAVE_EPOLL
  close (self->epfd);
#else
  g_ptr_array_unref (self->watches);
#endif
  g_ptr_array_unref (self->graveyard);
  g_ptr_array_unref (self->kicked);
  g_array_unref (self->ticks);
  if (self->deadline_source != NULL)
    {
      g_source_destroy (self->deadline_source);
      g_source_unref (self->deadline_source);
    }
  g_ptr_array_unref (self->deadlines);
  g_main_context_unref (self->context);
  g_free (self);
}

OwlPollerWatch *
owl_poller_add (OwlPoller     *self,
                int            fd,
                guint          events,
                OwlPollerFunc  func,
                gpointer       user_data)
{
  OwlPollerWatch *watch = g_new0 (OwlPollerWatch, 1);

  watch->fd = fd;
  watch->events = events;
  watch->func = func;
  watch->user_data = user_data;

#ifdef HAVE_EPOLL
  {
    struct epoll_event ev = { .events = to_epoll (events), .data.ptr = watch };

    if (epoll_ctl (self->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
      g_critical ("epoll_ctl ADD %d: %s", fd, g_strerror (errno));
  }
#else
  watch->tag = g_source_add_unix_fd (self->source, fd, to_condition (events));
  g_ptr_array_add (self->watches, watch);
#endif

  return watch;
}

void
owl_poller_set_events (OwlPoller      *self,
                       OwlPollerWatch *watch,
                       guint           events)
{
  if (watch->events == events || watch->removed)
    return;
  watch->events = events;

#ifdef HAVE_EPOLL
  {
    struct epoll_event ev = { .events = to_epoll (events), .data.ptr = watch };

    epoll_ctl (self->epfd, EPOLL_CTL_MOD, watch->fd, &ev);
  }
#else
  g_source_modify_unix_fd (self->source, watch->tag, to_condition (events));
#endif
}

void
owl_poller_remove (OwlPoller      *self,
                   OwlPollerWatch *watch)
{
  if (watch == NULL || watch->removed)
    return;
  watch->removed = TRUE;

#ifdef HAVE_EPOLL
  epoll_ctl (self->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
#else
  g_source_remove_unix_fd (self->source, watch->tag);
  g_ptr_array_remove_fast (self->watches, watch);
#endif

  /* The last kicked watch gone: the source must not stay ready, or it
   * would dispatch on every iteration and starve lower priorities. */
  if (watch->kicked)
    {
      g_ptr_array_remove_fast (self->kicked, watch);
      watch->kicked = FALSE;
      if (self->kicked->len == 0)
        g_source_set_ready_time (self->source, -1);
    }

  /* An event for it may still sit in the batch being dispatched. */
  g_ptr_array_add (self->graveyard, watch);
  bury_dead (self);
}

void
owl_poller_kick (OwlPoller      *self,
                 OwlPollerWatch *watch)
{
  if (watch->removed || watch->kicked)
    return;
  watch->kicked = TRUE;
  g_ptr_array_add (self->kicked, watch);
  g_source_set_ready_time (self->source, 0);
}

guint
owl_poller_add_tick (OwlPoller         *self,
                     OwlPollerTickFunc  func,
                     gpointer           user_data)
{
  OwlPollerTick tick = { ++self->next_tick_id, func, user_data };

  g_array_append_val (self->ticks, tick);

  if (self->tick_source == NULL)
    {
      self->tick_source = g_timeout_source_new_seconds (1);
      g_source_set_callback (self->tick_source, tick_cb, self, NULL);
      g_source_set_static_name (self->tick_source, "[owlsock] tick");
      g_source_attach (self->tick_source, self->context);
    }

  return tick.id;
}

void
owl_poller_remove_tick (OwlPoller *self,
                        guint      id)
{
  for (guint i = 0; i < self->ticks->len; i++)
    {
      if (g_array_index (self->ticks, OwlPollerTick, i).id == id)
        {
          g_array_remove_index_fast (self->ticks, i);
          return;
        }
    }
}

guint64
owl_poller_get_serial (OwlPoller *self)
{
  return self->serial;
}

/* Deadlines ------------------------------------------------------------------------- */

/* The earliest armed deadline, or -1. One pass over them: the source
 * wakes once per deadline that fires, not per main loop turn. */
static gint64
earliest_deadline (OwlPoller *self)
{
  gint64 earliest = -1;

  for (guint i = 0; i < self->deadlines->len; i++)
    {
      gint64 due = ((OwlPollerDeadline *) g_ptr_array_index (self->deadlines, i))->due;

      if (due >= 0 && (earliest < 0 || due < earliest))
        earliest = due;
    }
  return earliest;
}

/* The deadlines due are disarmed and collected first: a callback may
 * arm, add or remove any deadline (removed ones wait in the graveyard
 * until the dispatch ends, and are skipped). */
static gboolean
deadline_dispatch (GSource     *source,
                   GSourceFunc  callback,
                   gpointer     user_data)
{
  OwlPoller *self = ((OwlPollerSource *) source)->poller;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) due = g_ptr_array_new ();

  /* A callback may drop the last other reference. */
  g_atomic_int_inc (&self->ref_count);

  for (guint i = 0; i < self->deadlines->len; i++)
    {
      OwlPollerDeadline *deadline = g_ptr_array_index (self->deadlines, i);

      if (deadline->due >= 0 && deadline->due <= now)
        {
          deadline->due = -1;
          g_ptr_array_add (due, deadline);
        }
    }

  self->dispatching++;
  for (guint i = 0; i < due->len; i++)
    {
      OwlPollerDeadline *deadline = g_ptr_array_index (due, i);

      if (!deadline->removed)
        deadline->func (deadline->user_data, now);
    }
  self->dispatching--;
  bury_dead (self);
  g_source_set_ready_time (source, earliest_deadline (self));
  owl_poller_unref (self);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs deadline_source_funcs = {
  .dispatch = deadline_dispatch,
};

OwlPollerDeadline *
owl_poller_add_deadline (OwlPoller             *self,
                         OwlPollerDeadlineFunc  func,
                         gpointer               user_data)
{
  OwlPollerDeadline *deadline = g_new0 (OwlPollerDeadline, 1);

  deadline->due = -1;
  deadline->func = func;
  deadline->user_data = user_data;
  deadline->index = self->deadlines->len;
  g_ptr_array_add (self->deadlines, deadline);

  if (self->deadline_source == NULL)
    {
      self->deadline_source = g_source_new (&deadline_source_funcs, sizeof (OwlPollerSource));
      ((OwlPollerSource *) self->deadline_source)->poller = self;
      g_source_set_static_name (self->deadline_source, "[owlsock] deadlines");
      g_source_attach (self->deadline_source, self->context);
    }

  return deadline;
}

/* A deadline moved later or disarmed leaves the source's ready time as
 * it is: the source then wakes early, finds nothing due and sleeps until
 * the earliest one. */
void
owl_poller_set_deadline (OwlPoller         *self,
                         OwlPollerDeadline *deadline,
                         gint64             due_us)
{
  gint64 ready;

  if (deadline->removed)
    return;
  deadline->due = due_us;
  if (due_us < 0)
    return;
  ready = g_source_get_ready_time (self->deadline_source);
  if (ready < 0 || due_us < ready)
    g_source_set_ready_time (self->deadline_source, due_us);
}

void
owl_poller_remove_deadline (OwlPoller         *self,
                            OwlPollerDeadline *deadline)
{
  if (deadline == NULL || deadline->removed)
    return;
  deadline->removed = TRUE;

  /* The last one takes its place. */
  g_ptr_array_steal_index_fast (self->deadlines, deadline->index);
  if (deadline->index < self->deadlines->len)
    ((OwlPollerDeadline *) g_ptr_array_index (self->deadlines, deadline->index))->index = deadline->index;

  /* It may sit in the batch being dispatched. */
  g_ptr_array_add (self->graveyard, deadline);
  bury_dead (self);
}

guint
owl_poller_count_deadlines (OwlPoller *self)
{
  return self->deadlines->len;
}
