/* owl-test-redis.c: a redis-server of the test's own
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-test-redis.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "owl-test-util.h"
#include "owl-broker-redis-private.h"

#define START_ATTEMPTS 5

/* A port nothing listens on now: bound, read, closed. */
static guint16
free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);
  return ntohs (addr.sin_port);
}

static redisContext *
connect_now (OwlTestRedis *redis)
{
  struct timeval timeout = { 0, 500000 };
  redisContext *c = redisConnectWithTimeout ("127.0.0.1", redis->port, timeout);

  if (c != NULL && c->err == 0 && redisSetTimeout (c, timeout) == REDIS_OK)
    return c;
  if (c != NULL)
    redisFree (c);
  return NULL;
}

redisReply *
owl_test_redis_command (OwlTestRedis *redis,
                        const char   *format,
                        ...)
{
  redisContext *c = connect_now (redis);
  redisReply *reply = NULL;
  va_list ap;

  if (c == NULL)
    return NULL;
  va_start (ap, format);
  reply = redisvCommand (c, format, ap);
  va_end (ap);
  redisFree (c);
  return reply;
}

/* The server dies with the test, even when the test aborts. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

typedef enum { STARTING, READY, EXITED } StartState;

static StartState
probe (OwlTestRedis *redis)
{
  redisReply *reply;
  int status;

  if (waitpid (redis->pid, &status, WNOHANG) == redis->pid)
    {
      redis->pid = 0;
      return EXITED;
    }
  reply = owl_test_redis_command (redis, "PING");
  if (reply == NULL)
    return STARTING;
  freeReplyObject (reply);
  return READY;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Keeps the loop turning while a wait polls something outside it. */
static GSource *
tick_new (void)
{
  GSource *tick = g_timeout_source_new (10);

  g_source_set_callback (tick, tick_cb, NULL, NULL);
  g_source_attach (tick, g_main_context_get_thread_default ());
  return tick;
}

static void
tick_free (GSource *tick)
{
  g_source_destroy (tick);
  g_source_unref (tick);
}

/* Spawns redis-server on redis->port and waits: FALSE if it exited (the
 * port was taken meanwhile). */
static gboolean
spawn_and_wait (OwlTestRedis *redis)
{
  g_autofree char *port = g_strdup_printf ("%u", redis->port);
  const char *argv[] = {
    "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", redis->dir, "--daemonize", "no", "--loglevel", "warning", NULL,
  };
  g_autoptr(GError) error = NULL;
  GSource *tick;
  StartState state = STARTING;

  g_spawn_async (NULL, (char **) argv, NULL,
                 G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                 die_with_parent, NULL, &redis->pid, &error);
  g_assert_no_error (error);
  tick = tick_new ();
  OWL_TEST_WAIT_FOR ((state = probe (redis)) != STARTING);
  tick_free (tick);
  return state == READY;
}

static void
start_on_free_port (OwlTestRedis *redis)
{
  for (guint i = 0; i < START_ATTEMPTS; i++)
    {
      redis->port = free_port ();
      g_free (redis->address);
      redis->address = g_strdup_printf ("127.0.0.1:%u", redis->port);
      if (spawn_and_wait (redis))
        return;
    }
  g_error ("redis-server did not start in %d attempts", START_ATTEMPTS);
}

OwlTestRedis *
owl_test_redis_start (void)
{
  OwlTestRedis *redis = g_new0 (OwlTestRedis, 1);
  g_autoptr(GError) error = NULL;

  redis->dir = g_dir_make_tmp ("owl-redis-XXXXXX", &error);
  g_assert_no_error (error);
  start_on_free_port (redis);
  return redis;
}

void
owl_test_redis_stop (OwlTestRedis *redis)
{
  if (redis->pid == 0)
    return;
  kill (redis->pid, SIGKILL);
  kill (redis->pid, SIGCONT);
  while (waitpid (redis->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (redis->pid);
  redis->pid = 0;
}

void
owl_test_redis_restart (OwlTestRedis *redis)
{
  owl_test_redis_stop (redis);
  /* The same port: only a process taking it meanwhile makes this fail. */
  g_assert_true (spawn_and_wait (redis));
}

void
owl_test_redis_pause (OwlTestRedis *redis,
                      gboolean      paused)
{
  g_assert_cmpint (kill (redis->pid, paused ? SIGSTOP : SIGCONT), ==, 0);
}

void
owl_test_redis_free (OwlTestRedis *redis)
{
  if (redis == NULL)
    return;
  owl_test_redis_stop (redis);
  g_rmdir (redis->dir);
  g_free (redis->dir);
  g_free (redis->address);
  g_free (redis);
}

static gint64
numsub (OwlTestRedis *redis,
        const char   *channel)
{
  redisReply *reply = owl_test_redis_command (redis, "PUBSUB NUMSUB %s", channel);
  gint64 count = -1;

  if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
    count = reply->element[1]->integer;
  if (reply != NULL)
    freeReplyObject (reply);
  return count;
}

void
owl_test_redis_wait_subscribers (OwlTestRedis *redis,
                                 const char   *channel,
                                 gint64        n)
{
  GSource *tick = tick_new ();

  OWL_TEST_WAIT_FOR (numsub (redis, channel) == n);
  tick_free (tick);
}

/* Members ------------------------------------------------------------------------ */

typedef struct
{
  OwlTransport   parent;
  OwlTestMember *member;
} RecordingTransport;

static void
recording_record (OwlTransport *transport,
                  const char   *data,
                  gsize         len)
{
  g_ptr_array_add (((RecordingTransport *) transport)->member->received, g_strndup (data, len));
}

static void
recording_free (OwlTransport *transport)
{
  g_free (transport);
}

static void
recording_send_shared (OwlTransport     *transport,
                       OwlSharedMessage *message)
{
  gsize len;
  const char *data = g_bytes_get_data (message->payload, &len);

  recording_record (transport, data, len);
}

static void
recording_send (OwlTransport *transport,
                gboolean      binary,
                GBytes       *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  recording_record (transport, data, len);
}

static void
recording_send_data (OwlTransport *transport,
                     gboolean      binary,
                     const char   *data,
                     gsize         len)
{
  recording_record (transport, data, len);
}

static void
recording_close (OwlTransport *transport,
                 guint16       code,
                 const char   *reason)
{
}

static gsize
recording_zero (OwlTransport *transport)
{
  return 0;
}

static guint64
recording_zero64 (OwlTransport *transport)
{
  return 0;
}

static void
recording_tick (OwlTransport *transport,
                gint64        now)
{
}

static const OwlTransportClass recording_class = {
  .free = recording_free,
  .send_shared = recording_send_shared,
  .send = recording_send,
  .send_data = recording_send_data,
  .close = recording_close,
  .get_buffered = recording_zero,
  .get_dropped = recording_zero64,
  .tick = recording_tick,
};

static const OwlTransportCallbacks no_callbacks = { NULL, };
static const OwlChannelHandlers no_handlers = { NULL, };

OwlTestMember *
owl_test_member_new (const char *id)
{
  OwlTestMember *member = g_new0 (OwlTestMember, 1);
  RecordingTransport *transport = g_new0 (RecordingTransport, 1);

  transport->parent.klass = &recording_class;
  transport->parent.callbacks = &no_callbacks;
  transport->member = member;
  member->transport = transport;
  member->owner = g_object_new (G_TYPE_OBJECT, NULL);
  member->channel = owl_channel_new (&no_handlers, member->owner, &transport->parent, NULL,
                                     g_main_context_default ());
  member->received = g_ptr_array_new_with_free_func (g_free);
  member->id = g_strdup (id);
  return member;
}

void
owl_test_member_free (OwlTestMember *member)
{
  owl_channel_detach (member->channel);
  owl_channel_unref (member->channel);
  owl_transport_free (member->transport);
  g_object_unref (member->owner);
  g_ptr_array_unref (member->received);
  g_free (member->id);
  g_free (member);
}

gboolean
owl_test_member_join (OwlTestMember *member,
                      OwlRooms      *rooms,
                      const char    *room)
{
  return owl_rooms_join (rooms, room, member->owner, member->channel, member->id);
}

char *
owl_test_member_dump (OwlTestMember *member)
{
  GString *dump = g_string_new (NULL);

  for (guint i = 0; i < member->received->len; i++)
    g_string_append_printf (dump, "%s%s", i ? "|" : "", (char *) g_ptr_array_index (member->received, i));
  return g_string_free (dump, FALSE);
}

gint64
owl_test_broker_stat (OwlBroker  *broker,
                      const char *name)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  JsonNode *member;

  json_builder_begin_object (builder);
  broker->klass->add_stats (broker, builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  member = json_object_get_member (json_node_get_object (root), name);
  g_assert_nonnull (member);
  if (json_node_get_value_type (member) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (member);
  return json_node_get_int (member);
}

/* Nodes -------------------------------------------------------------------------- */

void
owl_test_node_init (OwlTestNode  *node,
                    OwlTestRedis *redis,
                    const char   *name)
{
  node->rooms = owl_rooms_new (g_main_context_default ());
  node->broker = owl_broker_new_redis (redis->address, OWL_TEST_REDIS_PREFIX, OWL_TEST_REDIS_HEARTBEAT_S,
                                       name, g_main_context_default ());
  owl_rooms_set_broker (node->rooms, node->broker);
  OWL_TEST_WAIT_FOR (owl_test_broker_stat (node->broker, "connected"));
}

void
owl_test_node_clear (OwlTestNode *node)
{
  g_clear_pointer (&node->rooms, owl_rooms_unref);
}

void
owl_test_node_broadcast (OwlTestNode *node,
                         const char  *room,
                         const char  *json,
                         GObject     *except)
{
  owl_rooms_broadcast_take (node->rooms, room, g_strdup (json), strlen (json), except);
}
