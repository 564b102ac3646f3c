/* owl-redis-private.h: one asynchronous Redis connection on a GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * hiredis 0.14 and its GLib adapter do the protocol; this adds what they
 * lack: a deadline on every command (no answer in time: the command fails
 * and the connection is treated as dead), reconnection with exponential
 * backoff and full jitter (0.1 s .. 5 s), and a bounded queue (a command
 * issued while disconnected, or with too many in flight, fails at once).
 *
 * A connection is either for commands or, once it sent a SUBSCRIBE, for
 * subscriptions: then its replies (confirmations and messages) go to the
 * push function, and owl_redis_subscribe() counts each confirmation as the
 * answer to its command, against the same deadline.
 */

#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

typedef struct _OwlRedis OwlRedis;

/* @reply (borrowed: copy what you keep) is NULL when @error is set: not
 * connected, too many commands in flight, the deadline passed, the
 * connection went, an error reply from Redis (G_IO_ERROR_FAILED, its text
 * as the message), or the connection being freed (G_IO_ERROR_CANCELLED). */
typedef void (*OwlRedisReplyFunc) (gpointer          user_data,
                                   const redisReply *reply,
                                   const GError     *error);
/* The connection came (TRUE: commands may be sent) or went (FALSE). */
typedef void (*OwlRedisStateFunc) (gpointer          user_data,
                                   gboolean          connected);
/* A reply on a subscribed connection: an array ["subscribe", channel, n],
 * ["unsubscribe", channel, n] or ["message", channel, payload]. */
typedef void (*OwlRedisPushFunc)  (gpointer          user_data,
                                   const redisReply *reply);

/* Commands in flight at most, and bytes of their arguments; more fail at
 * once (a Redis that stops reading must not make the process grow). */
#define OWL_REDIS_MAX_IN_FLIGHT 65536
#define OWL_REDIS_MAX_BYTES_IN_FLIGHT (16 * 1024 * 1024)

/* @address: "host:port" or a unix socket path (starting with '/').
 * Connects from @context's main loop, now and after every loss. */
OwlRedis   *owl_redis_new          (const char        *address,
                                    guint              deadline_ms,
                                    GMainContext      *context,
                                    OwlRedisStateFunc  state,
                                    OwlRedisPushFunc   push,
                                    gpointer           user_data);
/* Answers every command in flight with G_IO_ERROR_CANCELLED. Not from one
 * of this connection's own callbacks. */
void        owl_redis_free         (OwlRedis          *self);

/* Connected, and Redis answered since (a socket the kernel accepted for
 * a paused Redis is not a connection). */
gboolean    owl_redis_is_connected (OwlRedis          *self);
/* Connection attempts made so far (the first one included). */
guint       owl_redis_get_attempts (OwlRedis          *self);

/* Sends one command, binary-safe; @func is called once, maybe before
 * this returns (when it cannot be sent). */
void        owl_redis_command      (OwlRedis          *self,
                                    OwlRedisReplyFunc  func,
                                    gpointer           user_data,
                                    int                argc,
                                    const char       **argv,
                                    const size_t      *argvlen);
/* SUBSCRIBE (or UNSUBSCRIBE) one channel; FALSE when not connected. The
 * confirmation goes to the push function. */
gboolean    owl_redis_subscribe    (OwlRedis          *self,
                                    gboolean           subscribe,
                                    const char        *channel,
                                    gsize              len);

/* A Lua script, run with EVALSHA (EVAL when Redis does not know it). */
typedef struct
{
  const char *text;
  char       *sha;   /* owned: owl_redis_script_init() */
} OwlRedisScript;

void        owl_redis_script_init  (OwlRedisScript    *script,
                                    const char        *text);
void        owl_redis_script_clear (OwlRedisScript    *script);
/* SCRIPT LOAD, answer ignored: sent first after each connect. */
void        owl_redis_script_load  (OwlRedis          *self,
                                    OwlRedisScript    *script);
/* Runs @script with @n_keys keys then arguments, all in @args (GBytes,
 * taken); @script must outlive the call. */
void        owl_redis_eval         (OwlRedis          *self,
                                    OwlRedisScript    *script,
                                    guint              n_keys,
                                    GPtrArray         *args,
                                    OwlRedisReplyFunc  func,
                                    gpointer           user_data);
/* Appends a copy of @len bytes at @data (-1: a string) to @args. */
void        owl_redis_args_add     (GPtrArray         *args,
                                    const char        *data,
                                    gssize             len);

G_END_DECLS
