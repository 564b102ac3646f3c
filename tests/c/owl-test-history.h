/* owl-test-history.h: rooms with history and presence, for the tests of
 * positions, recovery and presence
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-test-util.h"

G_BEGIN_DECLS

/* A module whose connections join the room of their `room` param, with
 * history-size @history_size and presence @presence; a connection whose
 * query has `name` sets its presence info to {"name": that}. */
OwlModule *owl_test_history_module        (OwlTestFixture *fixture,
                                           const char     *alias,
                                           const char     *path,
                                           guint           history_size,
                                           gboolean        presence);
/* Broadcasts {"n": @n} to @room. */
void       owl_test_history_broadcast     (OwlTestFixture *fixture,
                                           const char     *room,
                                           guint           n);
/* Broadcasts {"n": 1} to lobby; the client's next frame is that, as it is. */
void       owl_test_history_assert_plain  (OwlTestFixture *fixture,
                                           OwlTestClient  *client);
/* The client's frame @index is {"pos": {room, offset, epoch}, "n": @n}
 * with pos first; @epoch NULL: any. Returns its epoch. */
char      *owl_test_history_assert_pub_at (OwlTestClient  *client,
                                           guint           index,
                                           const char     *room,
                                           guint64         offset,
                                           const char     *epoch,
                                           guint           n,
                                           const char     *file,
                                           int             line);
#define owl_test_history_assert_pub(client, index, room, offset, epoch, n) \
  owl_test_history_assert_pub_at (client, index, room, offset, epoch, n, __FILE__, __LINE__)
/* The client's frame @index is `joined` for @room at @epoch/@offset;
 * @recovered: "true", "false", or NULL when the join did not recover. */
void       owl_test_history_assert_joined_at (OwlTestClient *client,
                                              guint          index,
                                              const char    *room,
                                              const char    *epoch,
                                              guint64        offset,
                                              const char    *recovered,
                                              guint          missed,
                                              const char    *file,
                                              int            line);
#define owl_test_history_assert_joined(client, index, room, epoch, offset, recovered, missed) \
  owl_test_history_assert_joined_at (client, index, room, epoch, offset, recovered, missed, \
                                     __FILE__, __LINE__)
/* @path + "?recover=" + @value percent-encoded. */
char      *owl_test_history_recover_path  (const char     *path,
                                           const char     *value);

/* A broker over the in-process one whose recover() reads history at once
 * but answers only when released, as a broker that asks Redis may. */
typedef struct _OwlTestSlowBroker OwlTestSlowBroker;

OwlTestSlowBroker *owl_test_slow_broker_install (OwlTestFixture    *fixture);
guint              owl_test_slow_broker_n_held  (OwlTestSlowBroker *broker);
/* Answers every held recover(). */
void               owl_test_slow_broker_release (OwlTestSlowBroker *broker);

G_END_DECLS
