/* owl-broker-redis-private.h: rooms across processes through Redis
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-broker-private.h"
#include "owl-redis-private.h"

G_BEGIN_DECLS

/* A publication larger than this is served locally and not sent. */
#define OWL_BROKER_REDIS_MAX_PUBLISH (1024 * 1024)

/* @address: "host:port" or a unix socket path ("/..."); @prefix: the key
 * prefix P (keys P.room.R, P.history.R, ...); @heartbeat_s: the presence
 * heartbeat and liveness probe period (entries expire after two); @node:
 * this process's name among the nodes. Never fails: it connects in the
 * background, and again whenever Redis goes away. */
OwlBroker *owl_broker_new_redis (const char   *address,
                                 const char   *prefix,
                                 guint         heartbeat_s,
                                 const char   *node,
                                 GMainContext *context);

/* The broker's own files (owl-broker-redis.c, owl-redis-presence.c) --------- */

enum
{
  SCRIPT_PUBLISH,
  SCRIPT_RECOVER,
  SCRIPT_META,
  SCRIPT_PRESENCE_ADD,
  SCRIPT_PRESENCE_REMOVE,
  SCRIPT_PRESENCE_QUERY,
  N_SCRIPTS
};

typedef struct
{
  char           *name;
  OwlRoomOptions  options;
  gboolean        active;         /* it has local members */
  gboolean        subscribed;     /* the SUBSCRIBE was confirmed */
  gboolean        unsubscribing;  /* an UNSUBSCRIBE is on its way */
  GPtrArray      *waiting;        /* Recover, until subscribed */
} Room;

typedef struct
{
  OwlBroker       parent;
  OwlRedis       *cmd;
  OwlRedis       *sub;
  char           *prefix;
  guint           heartbeat_s;
  GMainContext   *context;
  GSource        *heartbeat;
  GHashTable     *rooms;     /* name -> Room */
  GHashTable     *presence;  /* room -> (id -> JSON text): local entries */
  OwlRedisScript  scripts[N_SCRIPTS];
  char           *probe;     /* P.probe.NODE */
  char           *header;    /* the node field of every message */
  guint64         published;
  guint64         received;
  guint64         failed;
  gboolean        warned_large;
} RedisBroker;

/* P.KIND.ROOM */
char      *owl_broker_redis_key                  (RedisBroker          *self,
                                                  const char           *kind,
                                                  const char           *room);
void       owl_broker_redis_args_add_key         (GPtrArray            *args,
                                                  RedisBroker          *self,
                                                  const char           *kind,
                                                  const char           *room);
GPtrArray *owl_broker_redis_args_new             (void);
/* For commands whose answer nobody waits for: an error goes to the debug
 * log, prefixed with @user_data (a static string naming the command). */
void       owl_broker_redis_debug_cb             (gpointer              user_data,
                                                  const redisReply     *reply,
                                                  const GError         *error);

/* Presence (owl-redis-presence.c): its scripts go in @texts. */
void       owl_broker_redis_presence_scripts     (const char          **texts);
void       owl_broker_redis_presence_add         (OwlBroker            *broker,
                                                  const char           *room,
                                                  const char           *id,
                                                  JsonNode             *entry);
void       owl_broker_redis_presence_remove      (OwlBroker            *broker,
                                                  const char           *room,
                                                  const char           *id);
void       owl_broker_redis_presence_query       (OwlBroker            *broker,
                                                  const char           *room,
                                                  OwlBrokerPresenceFunc func,
                                                  gpointer              data);
/* Every local entry again, with a fresh expiry. */
void       owl_broker_redis_presence_refresh_all (RedisBroker          *self);

G_END_DECLS
