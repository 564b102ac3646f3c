/* owl-socket-service-presence.c: who is in a room, on every node
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-socket-service-private.h"

static void
on_presence (gpointer      user_data,
             JsonNode     *members,
             const GError *error)
{
  g_autoptr(GTask) task = user_data;

  if (error != NULL)
    g_task_return_error (task, g_error_copy (error));
  else
    g_task_return_pointer (task, json_node_copy (members), (GDestroyNotify) json_node_unref);
}

/**
 * owl_socket_service_presence_async:
 * @self: a service
 * @room: a room name
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the answer
 * @user_data: data for @callback
 *
 * Asks who is in @room, on every node that shares the service's broker,
 * among the connections whose module keeps presence
 * ([property@Owlsock.Module:presence]). Finish with
 * [method@Owlsock.SocketService.presence_finish]. Call on the service's
 * main context.
 *
 * Since: 0.1
 */
void
owl_socket_service_presence_async (OwlSocketService    *self,
                                   const char          *room,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (OWL_IS_SOCKET_SERVICE (self));
  g_return_if_fail (room != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, owl_socket_service_presence_async);
  owl_rooms_presence (self->rooms, room, on_presence, task);
}

/**
 * owl_socket_service_presence_finish:
 * @self: a service
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Owlsock.SocketService.presence_async].
 *
 * Returns: (transfer full): a JSON array of objects `{id, user, node,
 *   info}`, one per connection in the room (`user` is null for an
 *   anonymous connection, `info` is left out when it was not set with
 *   [method@Owlsock.Connection.set_presence_info]), or %NULL with @error
 *   set when the broker could not answer
 *
 * Since: 0.1
 */
JsonNode *
owl_socket_service_presence_finish (OwlSocketService  *self,
                                    GAsyncResult      *result,
                                    GError           **error)
{
  g_return_val_if_fail (OWL_IS_SOCKET_SERVICE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
