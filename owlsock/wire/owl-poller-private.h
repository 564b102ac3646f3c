/* owl-poller-private.h: one event source for every socket of a main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib polls every GSource of a context on each main loop turn, so one source
 * per connection makes a turn cost grow with idle connections. A poller is a
 * single GSource per context: on Linux it owns an epoll set and GLib sees
 * one descriptor; elsewhere it falls back to one unix-fd tag per socket on
 * the same source (correct, but O(n) per turn). It also runs a one-second
 * tick that callers use for their deadlines instead of timers of their own,
 * and one more source for deadlines that need millisecond precision (a
 * client's ping timeout): a context's GLib timers cost each main loop turn
 * as much as its sockets would.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwlPoller OwlPoller;
typedef struct _OwlPollerWatch OwlPollerWatch;
typedef struct _OwlPollerDeadline OwlPollerDeadline;

/* Bits of @events: readable, writable, hang-up or error. */
#define OWL_POLL_IN  (1u << 0)
#define OWL_POLL_OUT (1u << 1)
#define OWL_POLL_ERR (1u << 2)

typedef void (*OwlPollerFunc) (gpointer user_data,
                               guint    events);
typedef void (*OwlPollerTickFunc) (gpointer user_data,
                                   gint64   now_us);
typedef void (*OwlPollerDeadlineFunc) (gpointer user_data,
                                       gint64   now_us);

/* The poller of @context, created on first use; a full reference. */
OwlPoller      *owl_poller_ref_for_context (GMainContext     *context);
void            owl_poller_unref           (OwlPoller        *self);

OwlPollerWatch *owl_poller_add             (OwlPoller        *self,
                                            int               fd,
                                            guint             events,
                                            OwlPollerFunc     func,
                                            gpointer          user_data);
void            owl_poller_set_events      (OwlPoller        *self,
                                            OwlPollerWatch   *watch,
                                            guint             events);
/* Calls the watch's callback with OWL_POLL_IN on the next dispatch, as if
 * its descriptor were readable (for data buffered above the socket). */
void            owl_poller_kick            (OwlPoller        *self,
                                            OwlPollerWatch   *watch);
/* Safe from inside the watch's own callback; the callback is not called
 * again after this returns. */
void            owl_poller_remove          (OwlPoller        *self,
                                            OwlPollerWatch   *watch);

/* Changes at each dispatch of the poller: callbacks that see the same
 * serial run in the same main loop turn (a socket's event and a kick). */
guint64         owl_poller_get_serial      (OwlPoller         *self);

/* Called about once a second while registered. Returns an id for removal. */
guint           owl_poller_add_tick        (OwlPoller         *self,
                                            OwlPollerTickFunc  func,
                                            gpointer           user_data);
void            owl_poller_remove_tick     (OwlPoller         *self,
                                            guint              id);

/* A deadline on the context's one deadline source, disarmed until set. */
OwlPollerDeadline *owl_poller_add_deadline    (OwlPoller             *self,
                                               OwlPollerDeadlineFunc  func,
                                               gpointer               user_data);
/* Arms @deadline for @due_us (g_get_monotonic_time() microseconds), or
 * disarms it (-1). It fires once, disarmed first: the callback arms it
 * again if it wants another call. */
void               owl_poller_set_deadline    (OwlPoller             *self,
                                               OwlPollerDeadline     *deadline,
                                               gint64                 due_us);
/* Safe from any deadline's callback, its own too; the callback is not
 * called again after this returns. */
void               owl_poller_remove_deadline (OwlPoller             *self,
                                               OwlPollerDeadline     *deadline);
/* For the tests: the deadlines added and not removed, armed or not. */
guint              owl_poller_count_deadlines (OwlPoller             *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlPoller, owl_poller_unref)

G_END_DECLS
