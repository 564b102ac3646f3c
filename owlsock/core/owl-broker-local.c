/* owl-broker-local.c: the in-process broker, the default
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every member of every room lives in this process, and OwlRooms serves
 * them itself: there is nothing to subscribe to and nobody to publish for.
 */

#include "owl-broker-private.h"

static void
local_free (OwlBroker *self)
{
  g_free (self);
}

static void
local_room (OwlBroker  *self,
            const char *room)
{
}

static void
local_publish (OwlBroker  *self,
               const char *room,
               GBytes     *payload,
               const char *except_id)
{
}

static void
local_members (OwlBroker  *self,
               const char *room,
               GPtrArray  *ids)
{
}

static const OwlBrokerClass local_class = {
  .free = local_free,
  .join = local_room,
  .leave = local_room,
  .publish = local_publish,
  .members = local_members,
};

OwlBroker *
owl_broker_new_local (OwlBrokerDeliverFunc deliver,
                      gpointer             deliver_data)
{
  OwlBroker *self = g_new0 (OwlBroker, 1);

  self->klass = &local_class;
  self->deliver = deliver;
  self->deliver_data = deliver_data;
  return self;
}
