/* common.h: what every C example shares
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <owlsock/owlsock.h>

/* Called once the options are parsed, before listening: the place for work
 * that needs an option's value. Returns FALSE with @error set to exit 1. */
typedef gboolean (*ExampleSetupFunc) (OwlSocketService  *service,
                                      gpointer           user_data,
                                      GError           **error);

int example_main      (OwlSocketService   *service,
                       int                 argc,
                       char              **argv);
int example_main_full (OwlSocketService   *service,
                       const GOptionEntry *extra_entries,
                       ExampleSetupFunc    setup,
                       gpointer            user_data,
                       int                 argc,
                       char              **argv);

/* JSON frames: {"type": TYPE} to fill in, then sent (or broadcast) and freed. */
JsonObject *example_frame_new       (const char        *type);
JsonNode   *example_node_take       (JsonObject        *object);
void        example_send_take       (OwlConnection     *connection,
                                     JsonObject        *frame);
void        example_broadcast_take  (OwlSocketService  *service,
                                     const char        *room,
                                     JsonObject        *frame,
                                     OwlConnection     *except);
JsonNode   *example_stats_json      (OwlSocketService  *service);

/* The HS256 secret of a JWT guard: @secret_file, or $OWLSOCK_JWT_SECRET. */
gboolean    example_add_jwt_secret  (OwlJwtGuard       *guard,
                                     const char        *secret_file,
                                     GError           **error);

/* Calls @func (connection) every @interval_ms from now until the connection
 * starts closing: the timer is removed in `closing`, so it never meets a
 * closed connection. */
typedef void (*ExampleTickFunc) (OwlConnection *connection,
                                 gpointer       user_data);

void        example_every           (OwlConnection     *connection,
                                     guint              interval_ms,
                                     ExampleTickFunc    func,
                                     gpointer           user_data);
