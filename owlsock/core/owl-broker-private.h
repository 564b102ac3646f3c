/* owl-broker-private.h: how rooms reach members beyond this process
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * OwlRooms keeps local membership and serves local members itself (each
 * frame built once); a broker carries what concerns other processes. The
 * in-process broker (the default) has nobody else to tell. A broker that
 * spans processes (Redis) subscribes to a room when its first local member
 * joins and releases it when the last one leaves, publishes broadcasts for
 * the other processes, and hands what they publish to the deliver function
 * given at creation, which serves the local members.
 *
 * One implementation per file, as libdex does with its backends.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _OwlBroker OwlBroker;

/* A broadcast another process published: serve the local members of
 * @room (none is excluded: the excluded connection lived elsewhere). */
typedef void (*OwlBrokerDeliverFunc) (gpointer    user_data,
                                      const char *room,
                                      GBytes     *payload);

typedef struct
{
  void     (*free)    (OwlBroker  *self);
  /* The first local member joined @room / the last one left. */
  void     (*join)    (OwlBroker  *self,
                       const char *room);
  void     (*leave)   (OwlBroker  *self,
                       const char *room);
  /* A broadcast the local members already got: for everyone elsewhere.
   * @except_id is the excluded connection's id (it is local), or NULL. */
  void     (*publish) (OwlBroker  *self,
                       const char *room,
                       GBytes     *payload,
                       const char *except_id);
  /* Connection ids in @room elsewhere, added to @ids (char *, owned). */
  void     (*members) (OwlBroker  *self,
                       const char *room,
                       GPtrArray  *ids);
} OwlBrokerClass;

struct _OwlBroker
{
  const OwlBrokerClass *klass;
  OwlBrokerDeliverFunc  deliver;
  gpointer              deliver_data;
};

/* The default: one process, nothing to tell anybody. */
OwlBroker *owl_broker_new_local (OwlBrokerDeliverFunc  deliver,
                                 gpointer              deliver_data);

static inline void
owl_broker_free (OwlBroker *self)
{
  if (self != NULL)
    self->klass->free (self);
}

G_END_DECLS
