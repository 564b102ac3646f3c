/* owl-broker-local.c: the in-process broker, the default
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every member of every room lives in this process, and OwlRooms serves
 * them itself: there is nothing to subscribe to and nobody to publish for,
 * so a publication is delivered at once.
 */

#include <unistd.h>

#include "owl-broker-private.h"

static void
local_free (OwlBroker *self)
{
  g_free (self->node);
  g_free (self);
}

static void
local_join (OwlBroker            *self,
            const char           *room,
            const OwlRoomOptions *options)
{
}

static void
local_leave (OwlBroker  *self,
             const char *room)
{
}

static void
local_publish (OwlBroker  *self,
               const char *room,
               GBytes     *payload,
               const char *except_id)
{
  self->deliver (self->deliver_data, room, payload, NULL, except_id);
}

static void
local_recover (OwlBroker            *self,
               const char           *room,
               const OwlPosition    *since,
               OwlBrokerRecoverFunc  func,
               gpointer              data)
{
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  OwlPosition top = { 0, "" };

  func (data, FALSE, none, &top, NULL);
}

static void
local_presence_add (OwlBroker  *self,
                    const char *room,
                    const char *id,
                    JsonNode   *entry)
{
}

static void
local_presence_remove (OwlBroker  *self,
                       const char *room,
                       const char *id)
{
}

static void
local_presence_query (OwlBroker            *self,
                      const char           *room,
                      OwlBrokerPresenceFunc func,
                      gpointer              data)
{
  g_autoptr(JsonNode) members = json_node_init_array (json_node_alloc (), json_array_new ());

  func (data, members, NULL);
}

static void
local_add_stats (OwlBroker   *self,
                 JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "local");
}

static const OwlBrokerClass local_class = {
  .free = local_free,
  .join = local_join,
  .leave = local_leave,
  .publish = local_publish,
  .recover = local_recover,
  .presence_add = local_presence_add,
  .presence_remove = local_presence_remove,
  .presence_query = local_presence_query,
  .add_stats = local_add_stats,
};

OwlBroker *
owl_broker_new_local (void)
{
  OwlBroker *self = g_new0 (OwlBroker, 1);

  self->klass = &local_class;
  self->node = g_strdup_printf ("%s-%d", g_get_host_name (), (int) getpid ());
  return self;
}
