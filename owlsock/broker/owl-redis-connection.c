/* owl-redis-connection.c: one asynchronous Redis connection on a GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * hiredis frees a context itself when the connection fails or goes (after
 * the callbacks ran), and its GLib adapter leaves the GSource to us: the
 * source of a context that went is destroyed later, from the reconnect
 * timer or owl_redis_free(), never under hiredis's feet. Replies arrive in
 * command order on one connection, so the deadline of the oldest command
 * in flight is the only one to watch.
 */

#include "config.h"

#include <hiredis/async.h>
#include <hiredis/adapters/glib.h>

#include "owl-redis-private.h"

#define OWL_REDIS_DEFAULT_PORT 6379
#define OWL_REDIS_MIN_DELAY_MS 100
#define OWL_REDIS_MAX_DELAY_MS 5000

/* A command in flight; func NULL: a (un)subscription, answered by its
 * confirmation on the push path. */
typedef struct
{
  OwlRedis          *redis;
  OwlRedisReplyFunc  func;
  gpointer           data;
  gint64             deadline;
  gsize              size;      /* bytes of its arguments */
  GList              link;
} Pending;

struct _OwlRedis
{
  char               *host;
  int                 port;
  char               *path;          /* a unix socket, or NULL */
  guint               deadline_ms;
  GMainContext       *context;
  OwlRedisStateFunc   state;
  OwlRedisPushFunc    push;
  gpointer            data;

  redisAsyncContext  *ac;            /* NULL while waiting to reconnect */
  GSource            *source;        /* the adapter's source for ac */
  GPtrArray          *dead_sources;  /* those of contexts hiredis freed */
  GSource            *check;         /* deadline checks while ac is there */
  GSource            *retry;         /* the reconnect timer */
  gint64              connect_deadline;
  gboolean            connected;     /* commands may be sent */
  gboolean            answered;      /* and Redis answered one */
  gboolean            freeing;
  GIOErrorEnum        drop_code;     /* why what is in flight fails next */
  char               *drop_reason;
  GQueue              pending;       /* Pending, in send order */
  gsize               bytes;         /* their arguments' bytes */
  guint               failures;      /* attempts since the last answer */
  guint               attempts;
};

static void redis_connect (OwlRedis *self);

static GSource *
add_timeout (OwlRedis    *self,
             guint        ms,
             GSourceFunc  func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
set_drop (OwlRedis     *self,
          GIOErrorEnum  code,
          const char   *reason)
{
  self->drop_code = code;
  g_free (self->drop_reason);
  self->drop_reason = g_strdup (reason);
}

static gboolean
retry_cb (gpointer data)
{
  OwlRedis *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  g_ptr_array_set_size (self->dead_sources, 0);
  redis_connect (self);
  return G_SOURCE_REMOVE;
}

/* Exponential backoff with full jitter: a random delay between 0.1 s and
 * 0.1 s * 2^failures, at most 5 s. */
static void
schedule_retry (OwlRedis *self)
{
  guint cap = MIN (OWL_REDIS_MAX_DELAY_MS, OWL_REDIS_MIN_DELAY_MS << MIN (self->failures, 6));
  guint delay = (guint) g_random_int_range (OWL_REDIS_MIN_DELAY_MS, (gint32) cap + 1);

  self->failures++;
  if (self->retry == NULL && !self->freeing)
    self->retry = add_timeout (self, delay, retry_cb);
}

static void
destroy_dead_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

static void
pending_unlink (OwlRedis *self,
                Pending  *p)
{
  g_queue_unlink (&self->pending, &p->link);
  self->bytes -= p->size;
}

/* hiredis freed (or is about to free) self->ac: forget it, and try again. */
static void
context_gone (OwlRedis *self)
{
  Pending *p;

  self->ac = NULL;
  self->answered = FALSE;
  if (self->source != NULL)
    g_ptr_array_add (self->dead_sources, g_steal_pointer (&self->source));
  clear_source (&self->check);
  /* Commands were answered by hiredis; (un)subscriptions are ours. */
  while ((p = g_queue_peek_head (&self->pending)) != NULL)
    {
      g_assert (p->func == NULL);
      pending_unlink (self, p);
      g_free (p);
    }
  if (self->connected)
    {
      self->connected = FALSE;
      if (!self->freeing)
        self->state (self->data, FALSE);
    }
  schedule_retry (self);
}

/* Treats the connection as dead: what is in flight fails with @code. */
static void
drop (OwlRedis     *self,
      GIOErrorEnum  code,
      const char   *reason)
{
  redisAsyncContext *ac = self->ac;

  if (ac == NULL)
    return;
  set_drop (self, code, reason);
  redisAsyncFree (ac);
  /* Not connected yet: hiredis calls no disconnect callback. */
  if (self->ac == ac)
    context_gone (self);
  set_drop (self, G_IO_ERROR_CONNECTION_CLOSED, "The connection to Redis was lost");
}

static gboolean
check_cb (gpointer data)
{
  OwlRedis *self = data;
  gint64 now = g_get_monotonic_time ();
  Pending *head = g_queue_peek_head (&self->pending);
  g_autofree char *reason = NULL;

  if (!self->connected && now > self->connect_deadline)
    reason = g_strdup_printf ("Redis did not accept the connection within %u ms", self->deadline_ms);
  else if (head != NULL && now > head->deadline)
    reason = g_strdup_printf ("Redis did not answer within %u ms", self->deadline_ms);
  if (reason != NULL)
    {
      g_debug ("redis: %s: dropping the connection", reason);
      drop (self, G_IO_ERROR_TIMED_OUT, reason);
      return G_SOURCE_REMOVE;  /* drop() destroyed it */
    }
  return G_SOURCE_CONTINUE;
}

static void
connect_cb (const redisAsyncContext *ac,
            int                      status)
{
  OwlRedis *self = ac->data;

  if (status != REDIS_OK)
    {
      g_debug ("redis: cannot connect: %s", ac->errstr);
      context_gone (self);  /* hiredis frees ac when this returns */
      return;
    }
  self->connected = TRUE;
  self->state (self->data, TRUE);
}

static void
disconnect_cb (const redisAsyncContext *ac,
               int                      status)
{
  OwlRedis *self = ac->data;

  g_debug ("redis: disconnected: %s", ac->err ? ac->errstr : "closed");
  if (self->ac == ac)
    context_gone (self);
}

static void
redis_connect (OwlRedis *self)
{
  redisAsyncContext *ac;

  self->attempts++;
  ac = self->path ? redisAsyncConnectUnix (self->path) : redisAsyncConnect (self->host, self->port);
  if (ac == NULL || ac->err)
    {
      g_debug ("redis: cannot connect: %s", ac ? ac->errstr : "out of memory");
      if (ac != NULL)
        redisAsyncFree (ac);
      schedule_retry (self);
      return;
    }
  ac->data = self;
  self->ac = ac;
  self->source = redis_source_new (ac);
  g_source_attach (self->source, self->context);
  /* After the adapter: setting the callback asks for the first write event. */
  redisAsyncSetConnectCallback (ac, connect_cb);
  redisAsyncSetDisconnectCallback (ac, disconnect_cb);
  self->connect_deadline = g_get_monotonic_time () + self->deadline_ms * G_GINT64_CONSTANT (1000);
  self->check = add_timeout (self, MAX (self->deadline_ms / 4, 10), check_cb);
}

static void
parse_address (OwlRedis   *self,
               const char *address)
{
  const char *colon = strrchr (address, ':');
  const char *end = colon ? colon : address + strlen (address);

  if (address[0] == '/')
    {
      self->path = g_strdup (address);
      return;
    }
  self->port = colon ? (int) g_ascii_strtoll (colon + 1, NULL, 10) : OWL_REDIS_DEFAULT_PORT;
  if (address[0] == '[' && end > address + 1 && end[-1] == ']')
    self->host = g_strndup (address + 1, end - address - 2);
  else
    self->host = g_strndup (address, end - address);
}

OwlRedis *
owl_redis_new (const char        *address,
               guint              deadline_ms,
               GMainContext      *context,
               OwlRedisStateFunc  state,
               OwlRedisPushFunc   push,
               gpointer           user_data)
{
  OwlRedis *self = g_new0 (OwlRedis, 1);

  parse_address (self, address);
  self->deadline_ms = MAX (deadline_ms, 1);
  self->context = g_main_context_ref (context);
  self->state = state;
  self->push = push;
  self->data = user_data;
  self->dead_sources = g_ptr_array_new_with_free_func (destroy_dead_source);
  set_drop (self, G_IO_ERROR_CONNECTION_CLOSED, "The connection to Redis was lost");
  redis_connect (self);
  return self;
}

void
owl_redis_free (OwlRedis *self)
{
  if (self == NULL)
    return;
  self->freeing = TRUE;
  drop (self, G_IO_ERROR_CANCELLED, "The Redis connection is being freed");
  clear_source (&self->retry);
  clear_source (&self->check);
  g_ptr_array_unref (self->dead_sources);
  g_main_context_unref (self->context);
  g_free (self->drop_reason);
  g_free (self->host);
  g_free (self->path);
  g_free (self);
}

gboolean
owl_redis_is_connected (OwlRedis *self)
{
  return self->connected && self->answered;
}

guint
owl_redis_get_attempts (OwlRedis *self)
{
  return self->attempts;
}

static Pending *
pending_push (OwlRedis          *self,
              OwlRedisReplyFunc  func,
              gpointer           data,
              gsize              size)
{
  Pending *p = g_new0 (Pending, 1);

  p->size = size;
  self->bytes += size;
  p->redis = self;
  p->func = func;
  p->data = data;
  p->deadline = g_get_monotonic_time () + self->deadline_ms * G_GINT64_CONSTANT (1000);
  p->link.data = p;
  g_queue_push_tail_link (&self->pending, &p->link);
  return p;
}

static void
reply_cb (redisAsyncContext *ac,
          void              *r,
          void              *privdata)
{
  Pending *p = privdata;
  OwlRedis *self = p->redis;
  redisReply *reply = r;
  g_autoptr(GError) error = NULL;

  pending_unlink (self, p);
  if (reply == NULL)
    error = g_error_new_literal (G_IO_ERROR, self->drop_code, self->drop_reason);
  else
    {
      self->failures = 0;
      self->answered = TRUE;
    }
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "Redis: %.*s", (int) reply->len, reply->str);
  p->func (p->data, error ? NULL : reply, error);
  g_free (p);
}

static void
fail_now (OwlRedisReplyFunc  func,
          gpointer           data,
          GIOErrorEnum       code,
          const char        *message)
{
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, code, message);

  func (data, NULL, error);
}

void
owl_redis_command (OwlRedis           *self,
                   OwlRedisReplyFunc   func,
                   gpointer            user_data,
                   int                 argc,
                   const char        **argv,
                   const size_t       *argvlen)
{
  Pending *p;
  gsize size = 0;

  for (int i = 0; i < argc; i++)
    size += argvlen[i];
  if (!self->connected)
    {
      fail_now (func, user_data, G_IO_ERROR_NOT_CONNECTED, "Not connected to Redis");
      return;
    }
  if (self->pending.length >= OWL_REDIS_MAX_IN_FLIGHT || self->bytes + size > OWL_REDIS_MAX_BYTES_IN_FLIGHT)
    {
      fail_now (func, user_data, G_IO_ERROR_BUSY, "Too many Redis commands in flight");
      return;
    }
  p = pending_push (self, func, user_data, size);
  if (redisAsyncCommandArgv (self->ac, reply_cb, p, argc, argv, argvlen) != REDIS_OK)
    {
      pending_unlink (self, p);
      g_free (p);
      fail_now (func, user_data, G_IO_ERROR_FAILED, "Redis refused the command");
    }
}

static void
push_cb (redisAsyncContext *ac,
         void              *r,
         void              *privdata)
{
  OwlRedis *self = privdata;
  redisReply *reply = r;
  const char *kind;

  /* NULL: hiredis is freeing the context. */
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
      reply->element[0]->type != REDIS_REPLY_STRING)
    return;
  kind = reply->element[0]->str;
  if (g_ascii_strcasecmp (kind, "subscribe") == 0 || g_ascii_strcasecmp (kind, "unsubscribe") == 0)
    {
      Pending *p = g_queue_peek_head (&self->pending);

      if (p != NULL && p->func == NULL)
        {
          pending_unlink (self, p);
          g_free (p);
        }
      self->failures = 0;
      self->answered = TRUE;
    }
  self->push (self->data, reply);
}

gboolean
owl_redis_subscribe (OwlRedis   *self,
                     gboolean    subscribe,
                     const char *channel,
                     gsize       len)
{
  const char *argv[] = { subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE", channel };
  const size_t lens[] = { strlen (argv[0]), len };

  if (!self->connected ||
      redisAsyncCommandArgv (self->ac, push_cb, self, 2, argv, lens) != REDIS_OK)
    return FALSE;
  pending_push (self, NULL, NULL, len);
  return TRUE;
}

/* Scripts ---------------------------------------------------------------------- */

void
owl_redis_script_init (OwlRedisScript *script,
                       const char     *text)
{
  script->text = text;
  script->sha = g_compute_checksum_for_string (G_CHECKSUM_SHA1, text, -1);
}

void
owl_redis_script_clear (OwlRedisScript *script)
{
  g_clear_pointer (&script->sha, g_free);
}

static void
ignore_reply_cb (gpointer          user_data,
                 const redisReply *reply,
                 const GError     *error)
{
  if (error != NULL)
    g_debug ("redis: SCRIPT LOAD: %s", error->message);
}

void
owl_redis_script_load (OwlRedis       *self,
                       OwlRedisScript *script)
{
  const char *argv[] = { "SCRIPT", "LOAD", script->text };
  const size_t lens[] = { 6, 4, strlen (script->text) };

  owl_redis_command (self, ignore_reply_cb, NULL, 3, argv, lens);
}

void
owl_redis_args_add (GPtrArray  *args,
                    const char *data,
                    gssize      len)
{
  g_ptr_array_add (args, g_bytes_new (data, len < 0 ? strlen (data) : (gsize) len));
}

typedef struct
{
  OwlRedis          *redis;
  OwlRedisScript    *script;
  guint              n_keys;
  GPtrArray         *args;
  OwlRedisReplyFunc  func;
  gpointer           data;
  gboolean           eval;  /* sent as EVAL: Redis did not know the SHA */
} Eval;

static void eval_send (Eval *e);

static void
eval_cb (gpointer          user_data,
         const redisReply *reply,
         const GError     *error)
{
  Eval *e = user_data;

  if (error != NULL && !e->eval && g_str_has_prefix (error->message, "Redis: NOSCRIPT"))
    {
      e->eval = TRUE;
      eval_send (e);
      return;
    }
  e->func (e->data, reply, error);
  g_ptr_array_unref (e->args);
  g_free (e);
}

static void
eval_send (Eval *e)
{
  guint argc = e->args->len + 3;
  g_autofree const char **argv = g_new (const char *, argc);
  g_autofree size_t *lens = g_new (size_t, argc);
  g_autofree char *n_keys = g_strdup_printf ("%u", e->n_keys);

  argv[0] = e->eval ? "EVAL" : "EVALSHA";
  argv[1] = e->eval ? e->script->text : e->script->sha;
  argv[2] = n_keys;
  for (guint i = 0; i < e->args->len; i++)
    {
      gsize len;

      const char *data = g_bytes_get_data (g_ptr_array_index (e->args, i), &len);

      argv[i + 3] = data ? data : "";
      lens[i + 3] = len;
    }
  for (guint i = 0; i < 3; i++)
    lens[i] = strlen (argv[i]);
  owl_redis_command (e->redis, eval_cb, e, (int) argc, argv, lens);
}

void
owl_redis_eval (OwlRedis          *self,
                OwlRedisScript    *script,
                guint              n_keys,
                GPtrArray         *args,
                OwlRedisReplyFunc  func,
                gpointer           user_data)
{
  Eval *e = g_new0 (Eval, 1);

  e->redis = self;
  e->script = script;
  e->n_keys = n_keys;
  e->args = args;
  e->func = func;
  e->data = user_data;
  eval_send (e);
}
