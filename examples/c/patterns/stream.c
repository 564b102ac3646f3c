/* stream.c: the data stream, /ws/stream
 *
 *   -> {"type":"subscribe","channel":"cpu"}      <- {"type":"subscribed","channel":"cpu"}
 *   <- every --stream-interval ms, for each channel subscribed:
 *      {"type":"data-update","channel":"cpu","seq":N,"timestamp":MS,"value":V}
 *      (V: 0 to 999)
 *   -> {"type":"unsubscribe","channel":"cpu"}    <- {"type":"unsubscribed","channel":"cpu"}
 *   -> {"type":"request","id":"h1","payload":{"type":"get-history","channel":"cpu","limit":5}}
 *   <- {"type":"response","id":"h1","payload":{"channel":"cpu","points":[{seq,timestamp,value},...]}}
 *
 * A channel is a room ("stream:cpu"): subscribing joins it, unsubscribing
 * leaves it, and closing leaves them all, so the connection's rooms are its
 * subscriptions and there is nothing to clean up by hand. The updates come
 * from a timer per connection, started on connect and stopped in `closing`.
 * get-history is a `request`: the framework answers it as a `response` with
 * the request's id (`requestId` in @owlmeans/server-socket).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "patterns.h"

#define ROOM_PREFIX "stream:"
#define CHANNEL "{\"type\": \"string\", \"pattern\": \"^[a-z0-9-]{1,32}$\"}"

static const char *const type_schemas[] = {
  "subscribe", "{\"required\": [\"channel\"], \"properties\": {\"channel\": " CHANNEL "}}",
  "unsubscribe", "{\"required\": [\"channel\"], \"properties\": {\"channel\": " CHANNEL "}}",
  NULL
};

/* A request's payload is not checked by the module: this schema is asked by hand. */
#define HISTORY_SCHEMA \
  "{\"type\": \"object\", \"required\": [\"type\", \"channel\"]," \
  " \"properties\": {\"type\": {\"const\": \"get-history\"}, \"channel\": " CHANNEL "," \
  "                \"limit\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100}}}"

typedef struct
{
  guint      interval;   /* ms */
  OwlSchema *history;
} Stream;

/* The data source: the value of @channel at step @seq. It stands in for a
 * database or a sensor; being a function of time, it has a history too. */
static JsonObject *
point_new (const Stream *stream,
           const char   *channel,
           gint64        seq)
{
  JsonObject *point = json_object_new ();
  guint sum = 0;

  for (const char *c = channel; *c != '\0'; c++)
    sum += (guchar) *c;
  json_object_set_int_member (point, "seq", seq);
  json_object_set_int_member (point, "timestamp", seq * stream->interval);
  json_object_set_int_member (point, "value", (sum * 31 + seq * 17) % 1000);
  return point;
}

static gint64
current_seq (const Stream *stream)
{
  return g_get_real_time () / 1000 / stream->interval;
}

static const char *
channel_of (JsonNode *message)
{
  return json_object_get_string_member (json_node_get_object (message), "channel");
}

static void
reply (OwlConnection *connection,
       const char    *type,
       const char    *channel)
{
  JsonObject *frame = example_frame_new (type);

  json_object_set_string_member (frame, "channel", channel);
  example_send_take (connection, frame);
}

/* "subscribe" joins the channel's room, "unsubscribe" leaves it. The
 * module's type schemas checked the message before it got here: "channel"
 * is there, and a channel name. */
static void
on_subscription (OwlConnection *connection,
                 JsonNode      *message,
                 gpointer       subscribe)
{
  const char *channel = channel_of (message);
  g_autofree char *room = g_strconcat (ROOM_PREFIX, channel, NULL);

  if (subscribe)
    owl_connection_join (connection, room);
  else
    owl_connection_leave (connection, room);
  reply (connection, subscribe ? "subscribed" : "unsubscribed", channel);
}

/* The timer: one data-update per channel, read from the connection's rooms. */
static void
send_updates (OwlConnection *connection,
              gpointer       user_data)
{
  const Stream *stream = user_data;
  g_auto(GStrv) rooms = owl_connection_dup_rooms (connection);
  gint64 seq = current_seq (stream);

  for (guint i = 0; rooms[i] != NULL; i++)
    {
      const char *channel;
      JsonObject *frame;

      if (!g_str_has_prefix (rooms[i], ROOM_PREFIX))
        continue;
      channel = rooms[i] + strlen (ROOM_PREFIX);
      frame = point_new (stream, channel, seq);
      json_object_set_string_member (frame, "type", "data-update");
      json_object_set_string_member (frame, "channel", channel);
      example_send_take (connection, frame);
    }
}

static gboolean
on_request (OwlConnection *connection,
            OwlCall       *call,
            gpointer       user_data)
{
  const Stream *stream = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *payload, *answer;
  JsonArray *points;
  const char *channel;
  gint64 limit, last;

  /* A failure is a `validation` error with the request's id: recoverable. */
  if (!owl_schema_validate (stream->history, owl_call_get_params (call), &error))
    {
      owl_call_return_error (call, error);
      return TRUE;
    }
  payload = json_node_get_object (owl_call_get_params (call));
  channel = json_object_get_string_member (payload, "channel");
  limit = json_object_get_int_member_with_default (payload, "limit", 10);
  last = current_seq (stream);
  points = json_array_new ();
  for (gint64 seq = last - limit + 1; seq <= last; seq++)
    json_array_add_object_element (points, point_new (stream, channel, seq));

  answer = json_object_new ();
  json_object_set_string_member (answer, "channel", channel);
  json_object_set_array_member (answer, "points", points);
  node = example_node_take (answer);
  owl_call_return_value (call, node);   /* {"type":"response","id":<the request's>,...} */
  return TRUE;
}

static void
on_connection (OwlModule     *module,
               OwlConnection *connection,
               gpointer       user_data)
{
  Stream *stream = user_data;

  g_signal_connect (connection, "message::subscribe", G_CALLBACK (on_subscription), GINT_TO_POINTER (TRUE));
  g_signal_connect (connection, "message::unsubscribe", G_CALLBACK (on_subscription), GINT_TO_POINTER (FALSE));
  g_signal_connect (connection, "request", G_CALLBACK (on_request), stream);
  /* Started now, stopped in `closing` (see example_every() in common.c). */
  example_every (connection, stream->interval, send_updates, stream);
}

static void
stream_free (gpointer  data,
             GClosure *closure)
{
  Stream *stream = data;

  g_clear_object (&stream->history);
  g_free (stream);
}

gboolean
patterns_add_stream (OwlSocketService       *service,
                     const PatternsOptions  *options,
                     GError                **error)
{
  g_autoptr(OwlModule) module = NULL;
  g_autoptr(OwlSchema) history = NULL;
  Stream *stream;

  if (!(module = patterns_module_new ("stream", "/ws/stream", type_schemas, error)) ||
      !(history = owl_schema_new_from_string (HISTORY_SCHEMA, error)))
    return FALSE;
  stream = g_new0 (Stream, 1);
  stream->interval = (guint) options->stream_interval;
  stream->history = g_steal_pointer (&history);
  g_signal_connect_data (module, "connection", G_CALLBACK (on_connection), stream, stream_free, 0);
  return owl_socket_service_add_module (service, module, error);
}
