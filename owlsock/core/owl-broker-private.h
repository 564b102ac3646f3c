/* owl-broker-private.h: how rooms reach their members, here and elsewhere
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlRooms keeps local membership and serves local members itself (each
 * frame built once, through the deliver function given to the broker). The
 * broker decides where a publication sits in its room's history and carries
 * what concerns other processes:
 *
 * - the in-process broker (the default) has nobody else to tell: it keeps
 *   history and presence in memory and delivers at once;
 * - a broker that spans processes (Redis) subscribes to a room when its
 *   first local member joins and releases it when the last one leaves,
 *   records and publishes broadcasts for the other processes, and hands
 *   what they publish to the deliver function.
 *
 * Everything here runs on the rooms' home thread (the service's context).
 * One implementation per file, as libdex does with its backends.
 */

#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _OwlBroker OwlBroker;

/* What a room keeps, from the module of the connection that made it known
 * on this node (OwlModule:history-size, :history-ttl, :presence). */
typedef struct
{
  guint    history_size;  /* publications kept; 0: no history */
  guint    history_ttl;   /* seconds a history outlives its last publish */
  gboolean presence;
} OwlRoomOptions;

/* Where a publication sits in its room's history: offsets count from 1
 * within an epoch; a new epoch (the history was lost) restarts them. */
typedef struct
{
  guint64     offset;
  const char *epoch;
} OwlPosition;

/* One publication read back from history. */
typedef struct
{
  guint64  offset;
  GBytes  *payload;
} OwlPublication;

static inline void
owl_publication_free (gpointer publication)
{
  g_bytes_unref (((OwlPublication *) publication)->payload);
  g_free (publication);
}

/* Serve the local members of @room but @except_id (NULL: none) with
 * @payload, the application's JSON as it was broadcast; @pos is where it
 * sits in the room's history, NULL when the room keeps none or recording
 * it failed (then it is delivered anyway: at most once, never lost here). */
typedef void (*OwlBrokerDeliverFunc)  (gpointer           user_data,
                                       const char        *room,
                                       GBytes            *payload,
                                       const OwlPosition *pos,
                                       const char        *except_id);

/* The answer to recover(): @publications (OwlPublication *, borrowed, in
 * offset order) are those after the position asked for; @recovered is
 * FALSE when the gap is no longer in history or the epoch changed (then
 * @publications is empty); @top is the room's latest position. @error is
 * set when the broker could not answer (Redis away, deadline passed, the
 * broker going away): then nothing else is. */
typedef void (*OwlBrokerRecoverFunc)  (gpointer           user_data,
                                       gboolean           recovered,
                                       GPtrArray         *publications,
                                       const OwlPosition *top,
                                       const GError      *error);

/* The answer to presence_query(): @members is a JSON array (borrowed) of
 * objects {id, user, node, info}, the union over every node; NULL with
 * @error set when the broker could not answer. */
typedef void (*OwlBrokerPresenceFunc) (gpointer           user_data,
                                       JsonNode          *members,
                                       const GError      *error);

typedef struct
{
  /* Answers every pending recover and presence callback with an error
   * (G_IO_ERROR_CANCELLED) before it goes. */
  void     (*free)           (OwlBroker            *self);
  /* The first local member joined @room / the last one left. @options
   * apply from now on; a room known already keeps the larger of each. */
  void     (*join)           (OwlBroker            *self,
                              const char           *room,
                              const OwlRoomOptions *options);
  void     (*leave)          (OwlBroker            *self,
                              const char           *room);
  /* A broadcast: recorded when the room keeps history, delivered to the
   * local members through deliver() (at once, or once its position is
   * known) and published for everyone elsewhere. @except_id is the
   * excluded connection's id (it is local), or NULL. */
  void     (*publish)        (OwlBroker            *self,
                              const char           *room,
                              GBytes               *payload,
                              const char           *except_id);
  /* The publications of @room after @since; @func is called once, maybe
   * before this returns. @since NULL (a join that recovers nothing) asks
   * for the top alone: @recovered FALSE, no publications. An empty epoch
   * at offset 0 is the position of a client that joined before the first
   * publication: it follows from the start of the current epoch. */
  void     (*recover)        (OwlBroker            *self,
                              const char           *room,
                              const OwlPosition    *since,
                              OwlBrokerRecoverFunc  func,
                              gpointer              data);
  /* A local connection in a room with presence: @entry is its JSON object
   * {id, user, node, info} (borrowed); kept alive by the broker's heartbeat
   * until removed. */
  void     (*presence_add)   (OwlBroker            *self,
                              const char           *room,
                              const char           *id,
                              JsonNode             *entry);
  void     (*presence_remove)(OwlBroker            *self,
                              const char           *room,
                              const char           *id);
  void     (*presence_query) (OwlBroker            *self,
                              const char           *room,
                              OwlBrokerPresenceFunc func,
                              gpointer              data);
  /* Adds the broker's members to the open "broker" object of the
   * statistics ("type", and whatever it counts). */
  void     (*add_stats)      (OwlBroker            *self,
                              JsonBuilder          *builder);
} OwlBrokerClass;

struct _OwlBroker
{
  const OwlBrokerClass *klass;
  OwlBrokerDeliverFunc  deliver;
  gpointer              deliver_data;
  char                 *node;  /* this process's name among the nodes */
};

/* The default: one process, history and presence in memory. */
OwlBroker *owl_broker_new_local (void);

static inline void
owl_broker_free (OwlBroker *self)
{
  if (self != NULL)
    self->klass->free (self);
}

/* owl-broker.c: the broker a service's properties name (OwlSocketService:
 * broker): NULL, "" or "local" for the in-process broker,
 * "redis://HOST:PORT" or "redis+unix:///PATH" for Redis (when owlsock was
 * built with it). Any other URL, or Redis without the support, is refused
 * with OWL_ERROR_UNSUPPORTED and a message that names it. @node becomes
 * the broker's node name. */
OwlBroker *owl_broker_new_for_service (const char    *url,
                                       const char    *prefix,
                                       guint          heartbeat_s,
                                       const char    *node,
                                       GMainContext  *context,
                                       GError       **error);

G_END_DECLS
