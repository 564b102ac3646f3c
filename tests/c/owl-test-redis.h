/* owl-test-redis.h: a redis-server of the test's own
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Debian's redis-server on a free loopback port, no persistence; started,
 * paused (SIGSTOP), resumed, killed and started again on the same port.
 */

#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>
#include <json-glib/json-glib.h>

#include "owl-broker-private.h"
#include "owl-rooms-private.h"

G_BEGIN_DECLS

typedef struct
{
  GPid     pid;      /* 0 while stopped */
  guint16  port;
  char    *address;  /* "127.0.0.1:PORT", for owl_broker_new_redis() */
  char    *dir;      /* its working directory */
} OwlTestRedis;

/* Starts one and waits until it answers PING (a watchdog fails the test). */
OwlTestRedis *owl_test_redis_start   (void);
/* Kills it (SIGKILL) and reaps it. */
void          owl_test_redis_stop    (OwlTestRedis *redis);
/* Starts it again on the same port, empty. */
void          owl_test_redis_restart (OwlTestRedis *redis);
/* SIGSTOP (TRUE) or SIGCONT (FALSE). */
void          owl_test_redis_pause   (OwlTestRedis *redis,
                                      gboolean      paused);
void          owl_test_redis_free    (OwlTestRedis *redis);
/* A command over a blocking connection of its own; the reply (transfer
 * full: freeReplyObject()), or NULL when Redis does not answer. */
redisReply   *owl_test_redis_command (OwlTestRedis *redis,
                                      const char   *format,
                                      ...);

/* Waits until @n connections subscribe @channel (PUBSUB NUMSUB). */
void          owl_test_redis_wait_subscribers (OwlTestRedis *redis,
                                               const char   *channel,
                                               gint64        n);

/* A member of OwlRooms over a transport that records what it is sent. */
typedef struct
{
  GObject    *owner;
  OwlChannel *channel;
  gpointer    transport;
  GPtrArray  *received;  /* char *, the payloads sent to it, in order */
  char       *id;
} OwlTestMember;

OwlTestMember *owl_test_member_new   (const char    *id);
void           owl_test_member_free  (OwlTestMember *member);
gboolean       owl_test_member_join  (OwlTestMember *member,
                                      OwlRooms      *rooms,
                                      const char    *room);
/* The received payloads joined with "|". */
char          *owl_test_member_dump  (OwlTestMember *member);

/* A node: OwlRooms with a Redis broker of its own (prefix
 * OWL_TEST_REDIS_PREFIX, heartbeat OWL_TEST_REDIS_HEARTBEAT_S). */
#define OWL_TEST_REDIS_PREFIX "owltest"
#define OWL_TEST_REDIS_HEARTBEAT_S 1

typedef struct
{
  OwlRooms  *rooms;
  OwlBroker *broker;  /* the rooms' */
} OwlTestNode;

/* Waits until the broker is connected. */
void           owl_test_node_init      (OwlTestNode   *node,
                                        OwlTestRedis  *redis,
                                        const char    *name);
void           owl_test_node_clear     (OwlTestNode   *node);
void           owl_test_node_broadcast (OwlTestNode   *node,
                                        const char    *room,
                                        const char    *json,
                                        GObject       *except);

/* The member @name of a broker's statistics (a boolean as 0 or 1). */
gint64         owl_test_broker_stat  (OwlBroker     *broker,
                                      const char    *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlTestRedis, owl_test_redis_free)

G_END_DECLS
