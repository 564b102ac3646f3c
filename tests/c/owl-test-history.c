/* owl-test-history.c: rooms with history and presence, for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "owl-socket-service-private.h"
#include "owl-test-history.h"

static void
history_connection_cb (OwlModule     *module,
                       OwlConnection *connection,
                       gpointer       user_data)
{
  OwlRequest *request = owl_connection_get_request (connection);
  const char *name = owl_request_get_query_param (request, "name");

  if (name != NULL)
    {
      g_autofree char *text = g_strdup_printf ("{\"name\":\"%s\"}", name);
      g_autoptr(JsonNode) info = owl_test_json_parse (text);

      owl_connection_set_presence_info (connection, info);
    }
  owl_connection_join (connection, owl_request_get_param (request, "room"));
}

OwlModule *
owl_test_history_module (OwlTestFixture *fixture,
                         const char     *alias,
                         const char     *path,
                         guint           history_size,
                         gboolean        presence)
{
  OwlModule *module = owl_test_fixture_add_module (fixture, alias, path);

  g_object_set (module, "history-size", history_size, "presence", presence, NULL);
  g_signal_connect (module, "connection", G_CALLBACK (history_connection_cb), NULL);
  return module;
}

void
owl_test_history_broadcast (OwlTestFixture *fixture,
                            const char     *room,
                            guint           n)
{
  g_autofree char *text = g_strdup_printf ("{\"n\":%u}", n);
  g_autoptr(JsonNode) message = owl_test_json_parse (text);

  owl_socket_service_broadcast (fixture->service, room, message, NULL);
}

void
owl_test_history_assert_plain (OwlTestFixture *fixture,
                               OwlTestClient  *client)
{
  guint index = client->texts->len;

  owl_test_history_broadcast (fixture, "lobby", 1);
  owl_test_client_wait_texts (client, index + 1);
  g_assert_cmpstr (g_ptr_array_index (client->texts, index), ==, "{\"n\":1}");
}

char *
owl_test_history_assert_pub_at (OwlTestClient *client,
                                guint          index,
                                const char    *room,
                                guint64        offset,
                                const char    *epoch,
                                guint          n,
                                const char    *file,
                                int            line)
{
  g_autoptr(JsonNode) pub = owl_test_client_wait_json_at (client, index, file, line);
  JsonObject *object = json_node_get_object (pub);
  JsonNode *pos = json_object_get_member (object, "pos");
  const char *text = g_ptr_array_index (client->texts, index);

  if (!g_str_has_prefix (text, "{\"pos\":") || pos == NULL ||
      g_strcmp0 (owl_test_json_get_string (pos, "room"), room) != 0 ||
      owl_test_json_get_int (pos, "offset") != (gint64) offset ||
      (epoch != NULL && g_strcmp0 (owl_test_json_get_string (pos, "epoch"), epoch) != 0) ||
      owl_test_json_get_int (pub, "n") != n)
    g_error ("%s:%d: frame %u is %s, not n=%u at %s/%" G_GUINT64_FORMAT "/%s",
             file, line, index, text, n, room, offset, epoch ? epoch : "*");
  return g_strdup (owl_test_json_get_string (pos, "epoch"));
}

void
owl_test_history_assert_joined_at (OwlTestClient *client,
                                   guint          index,
                                   const char    *room,
                                   const char    *epoch,
                                   guint64        offset,
                                   const char    *recovered,
                                   guint          missed,
                                   const char    *file,
                                   int            line)
{
  g_autoptr(JsonNode) frame = owl_test_client_wait_json_at (client, index, file, line);
  g_autoptr(JsonNode) expected = NULL;
  g_autofree char *text = NULL;
  g_autofree char *got = owl_test_json_to_string (frame);
  g_autofree char *want = NULL;

  if (recovered != NULL)
    text = g_strdup_printf ("{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"%s\","
                            "\"epoch\":\"%s\",\"offset\":%" G_GUINT64_FORMAT ",\"recovered\":%s,"
                            "\"missed\":%u}}", room, epoch, offset, recovered, missed);
  else
    text = g_strdup_printf ("{\"type\":\"system\",\"event\":\"joined\",\"payload\":{\"room\":\"%s\","
                            "\"epoch\":\"%s\",\"offset\":%" G_GUINT64_FORMAT "}}", room, epoch, offset);
  expected = owl_test_json_parse (text);
  want = owl_test_json_to_string (expected);
  if (!json_node_equal (frame, expected))
    g_error ("%s:%d: frame %u is %s, not %s", file, line, index, got, want);
}

char *
owl_test_history_recover_path (const char *path,
                               const char *value)
{
  g_autofree char *escaped = g_uri_escape_string (value, NULL, FALSE);

  return g_strdup_printf ("%s?recover=%s", path, escaped);
}

/* The slow broker ------------------------------------------------------------------ */

typedef struct
{
  OwlBrokerRecoverFunc  func;
  gpointer              data;
  gboolean              recovered;
  GPtrArray            *publications;  /* OwlPublication *, copies */
  guint64               offset;
  char                 *epoch;
} Answer;

struct _OwlTestSlowBroker
{
  OwlBroker  parent;
  OwlBroker *inner;
  GPtrArray *held;   /* Answer * */
};

static void
answer_free (Answer *answer)
{
  g_ptr_array_unref (answer->publications);
  g_free (answer->epoch);
  g_free (answer);
}

static void
capture_cb (gpointer           user_data,
            gboolean           recovered,
            GPtrArray         *publications,
            const OwlPosition *top,
            const GError      *error)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->recovered = recovered;
  for (guint i = 0; i < publications->len; i++)
    {
      OwlPublication *from = g_ptr_array_index (publications, i);
      OwlPublication *copy = g_new0 (OwlPublication, 1);

      copy->offset = from->offset;
      copy->payload = g_bytes_ref (from->payload);
      g_ptr_array_add (answer->publications, copy);
    }
  answer->offset = top->offset;
  answer->epoch = g_strdup (top->epoch);
}

static void
slow_recover (OwlBroker            *broker,
              const char           *room,
              const OwlPosition    *since,
              OwlBrokerRecoverFunc  func,
              gpointer              data)
{
  OwlTestSlowBroker *self = (OwlTestSlowBroker *) broker;
  Answer *answer = g_new0 (Answer, 1);

  answer->func = func;
  answer->data = data;
  answer->publications = g_ptr_array_new_with_free_func (owl_publication_free);
  self->inner->klass->recover (self->inner, room, since, capture_cb, answer);
  g_ptr_array_add (self->held, answer);
}

void
owl_test_slow_broker_release (OwlTestSlowBroker *self)
{
  g_autoptr(GPtrArray) held = g_steal_pointer (&self->held);

  self->held = g_ptr_array_new ();
  for (guint i = 0; i < held->len; i++)
    {
      Answer *answer = g_ptr_array_index (held, i);
      OwlPosition top = { answer->offset, answer->epoch };

      answer->func (answer->data, answer->recovered, answer->publications, &top, NULL);
      answer_free (answer);
    }
}

guint
owl_test_slow_broker_n_held (OwlTestSlowBroker *self)
{
  return self->held->len;
}

static void
slow_free (OwlBroker *broker)
{
  OwlTestSlowBroker *self = (OwlTestSlowBroker *) broker;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The broker is going");

  for (guint i = 0; i < self->held->len; i++)
    {
      Answer *answer = g_ptr_array_index (self->held, i);

      answer->func (answer->data, FALSE, NULL, NULL, error);
      answer_free (answer);
    }
  g_ptr_array_unref (self->held);
  owl_broker_free (self->inner);
  g_free (broker->node);
  g_free (self);
}

#define INNER(broker) (((OwlTestSlowBroker *) (broker))->inner)

static void
slow_join (OwlBroker *broker, const char *room, const OwlRoomOptions *options)
{
  INNER (broker)->klass->join (INNER (broker), room, options);
}

static void
slow_leave (OwlBroker *broker, const char *room)
{
  INNER (broker)->klass->leave (INNER (broker), room);
}

static void
slow_publish (OwlBroker *broker, const char *room, GBytes *payload, const char *except_id)
{
  INNER (broker)->klass->publish (INNER (broker), room, payload, except_id);
}

static void
slow_presence_add (OwlBroker *broker, const char *room, const char *id, JsonNode *entry)
{
  INNER (broker)->klass->presence_add (INNER (broker), room, id, entry);
}

static void
slow_presence_remove (OwlBroker *broker, const char *room, const char *id)
{
  INNER (broker)->klass->presence_remove (INNER (broker), room, id);
}

static void
slow_presence_query (OwlBroker *broker, const char *room, OwlBrokerPresenceFunc func, gpointer data)
{
  INNER (broker)->klass->presence_query (INNER (broker), room, func, data);
}

static void
slow_add_stats (OwlBroker *broker, JsonBuilder *builder)
{
  INNER (broker)->klass->add_stats (INNER (broker), builder);
}

static const OwlBrokerClass slow_class = {
  .free = slow_free,
  .join = slow_join,
  .leave = slow_leave,
  .publish = slow_publish,
  .recover = slow_recover,
  .presence_add = slow_presence_add,
  .presence_remove = slow_presence_remove,
  .presence_query = slow_presence_query,
  .add_stats = slow_add_stats,
};

OwlTestSlowBroker *
owl_test_slow_broker_install (OwlTestFixture *fixture)
{
  OwlTestSlowBroker *self = g_new0 (OwlTestSlowBroker, 1);

  self->parent.klass = &slow_class;
  self->inner = owl_broker_new_local ();
  self->parent.node = g_strdup (self->inner->node);
  self->held = g_ptr_array_new ();
  owl_rooms_set_broker (fixture->service->rooms, &self->parent);
  /* The inner broker serves the local members as the rooms said. */
  self->inner->deliver = self->parent.deliver;
  self->inner->deliver_data = self->parent.deliver_data;
  return self;
}
