/* test-seams.c: the seams the next features plug into, used on their own
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * - OwlChannel without a connection or a service: two channels over an
 *   in-memory transport pair, each the other's peer, as a client and a
 *   server will be;
 * - the broker interface of OwlRooms, with a broker of the test's own;
 * - OwlAuthChain alone: every outcome, an answer later, the timeout, a
 *   cancel;
 * - OwlSocketService's connection-added and connection-removed, in order
 *   with the connection's own closed.
 */

#include "owl-test-util.h"

#include <string.h>

#include "owl-auth-chain-private.h"
#include "owl-channel-private.h"
#include "owl-rooms-private.h"

/* An in-memory transport pair ------------------------------------------------- */

typedef struct _Pipe Pipe;

typedef struct
{
  OwlTransport  parent;
  Pipe         *peer_of;   /* the other end's transport */
  GPtrArray    *sent;      /* GBytes, every frame sent: the peer receives them */
  gboolean      closed;
} PipeEnd;

struct _Pipe
{
  PipeEnd *a, *b;
};

static PipeEnd *other_end (PipeEnd *end);

static void
pipe_free (OwlTransport *transport)
{
  PipeEnd *end = (PipeEnd *) transport;

  g_ptr_array_unref (end->sent);
  g_free (end);
}

/* Delivered from the main loop, never from inside a send, as transports do. */
typedef struct
{
  PipeEnd *to;
  GBytes  *bytes;
  gboolean binary;
} Delivery;

static gboolean
deliver_cb (gpointer data)
{
  Delivery *d = data;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (d->bytes, &len);

  if (!d->to->closed)
    d->to->parent.callbacks->message (d->to->parent.user_data, d->binary, bytes, len);
  g_bytes_unref (d->bytes);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static void
pipe_send (OwlTransport *transport,
           gboolean      binary,
           GBytes       *bytes)
{
  PipeEnd *end = (PipeEnd *) transport;
  Delivery *d = g_new0 (Delivery, 1);

  g_ptr_array_add (end->sent, g_bytes_ref (bytes));
  d->to = other_end (end);
  d->bytes = g_bytes_ref (bytes);
  d->binary = binary;
  g_idle_add (deliver_cb, d);
}

static void
pipe_send_data (OwlTransport *transport,
                gboolean      binary,
                const char   *data,
                gsize         len)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);

  pipe_send (transport, binary, bytes);
}

static void
pipe_send_shared (OwlTransport     *transport,
                  OwlSharedMessage *message)
{
  pipe_send (transport, FALSE, message->payload);
}

static void
pipe_close (OwlTransport *transport,
            guint16       code,
            const char   *reason)
{
  ((PipeEnd *) transport)->closed = TRUE;
}

static gsize
pipe_zero (OwlTransport *transport)
{
  return 0;
}

static guint64
pipe_zero64 (OwlTransport *transport)
{
  return 0;
}

static void
pipe_tick (OwlTransport *transport,
           gint64        now)
{
}

static const OwlTransportClass pipe_class = {
  .free = pipe_free,
  .send_shared = pipe_send_shared,
  .send = pipe_send,
  .send_data = pipe_send_data,
  .close = pipe_close,
  .get_buffered = pipe_zero,
  .get_dropped = pipe_zero64,
  .tick = pipe_tick,
};

static Pipe pipes;

static PipeEnd *
other_end (PipeEnd *end)
{
  return end == pipes.a ? pipes.b : pipes.a;
}

static PipeEnd *
pipe_end_new (const OwlTransportCallbacks *callbacks,
              gpointer                     user_data)
{
  PipeEnd *end = g_new0 (PipeEnd, 1);

  end->parent.klass = &pipe_class;
  end->parent.callbacks = callbacks;
  end->parent.user_data = user_data;
  end->sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  return end;
}

/* One side of the conversation: a GObject owner, as a connection or a
 * client is, and what its channel reported. */
typedef struct
{
  GObject     *owner;
  OwlChannel  *channel;
  PipeEnd     *end;
  GPtrArray   *messages;  /* char *, application messages as JSON */
  GString     *events;
} Side;

static void
side_transport_message (gpointer      user_data,
                        gboolean      binary,
                        const guint8 *data,
                        gsize         len)
{
  Side *side = user_data;

  owl_channel_receive (side->channel, binary, data, len, 64);
}

static const OwlTransportCallbacks side_transport = {
  .message = side_transport_message,
};

static void
side_message (gpointer  owner,
              JsonNode *root,
              gsize     size)
{
  Side *side = g_object_get_data (owner, "side");

  g_ptr_array_add (side->messages, owl_test_json_to_string (root));
}

/* "add": answered now with the sum; "later": answered from the main loop;
 * "refuse": an error; anything else: nobody takes it. */
static gboolean
answer_later_cb (gpointer data)
{
  g_autoptr(JsonNode) result = json_node_init_string (json_node_alloc (), "later");

  owl_call_return_value (data, result);
  return G_SOURCE_REMOVE;
}

static gboolean
side_call (gpointer  owner,
           OwlCall  *call)
{
  const char *method = owl_call_get_method (call);

  g_assert_true (owl_call_get_owner (call) == owner);
  if (owl_call_is_request (call))
    {
      owl_call_return_value (call, owl_call_get_params (call));
      return TRUE;
    }
  if (g_str_equal (method, "add"))
    {
      JsonArray *args = json_node_get_array (owl_call_get_params (call));
      g_autoptr(JsonNode) sum = json_node_init_int (json_node_alloc (),
                                                    json_array_get_int_element (args, 0) +
                                                    json_array_get_int_element (args, 1));

      owl_call_return_value (call, sum);
      return TRUE;
    }
  if (g_str_equal (method, "later"))
    {
      g_idle_add_full (G_PRIORITY_DEFAULT, answer_later_cb, g_object_ref (call), g_object_unref);
      return TRUE;
    }
  if (g_str_equal (method, "refuse"))
    {
      owl_call_return_error_literal (call, OWL_ERROR_FORBIDDEN, "Not you");
      return TRUE;
    }
  return FALSE;
}

static void
side_event (gpointer    owner,
            const char *event,
            JsonNode   *payload)
{
  Side *side = g_object_get_data (owner, "side");

  g_string_append_printf (side->events, "%s;", event);
}

static const OwlChannelHandlers side_handlers = {
  .message = side_message,
  .call = side_call,
  .event = side_event,
};

static void
side_init (Side *side)
{
  side->owner = g_object_new (G_TYPE_OBJECT, NULL);
  g_object_set_data (side->owner, "side", side);
  side->end = pipe_end_new (&side_transport, side);
  side->channel = owl_channel_new (&side_handlers, side->owner, &side->end->parent, NULL,
                                   g_main_context_default ());
  side->messages = g_ptr_array_new_with_free_func (g_free);
  side->events = g_string_new (NULL);
}

static void
side_clear (Side *side)
{
  /* Deliveries still on their way hold the transport. */
  owl_test_drain ();
  owl_channel_detach (side->channel);
  owl_channel_unref (side->channel);
  owl_transport_free (&side->end->parent);
  g_object_unref (side->owner);
  g_ptr_array_unref (side->messages);
  g_string_free (side->events, TRUE);
}

typedef struct
{
  JsonNode *result;
  GError   *error;
  gboolean  done;
} CallResult;

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CallResult *res = user_data;

  res->result = owl_channel_call_finish (result, &res->error);
  res->done = TRUE;
}

static void
call_and_wait (Side       *from,
               const char *method,
               const char *args,
               guint       timeout_ms,
               CallResult *res)
{
  g_autoptr(JsonNode) node = args ? owl_test_json_parse (args) : NULL;

  *res = (CallResult) { NULL, NULL, FALSE };
  owl_channel_call_async (from->channel, method, node, timeout_ms, NULL, call_done_cb, res, call_and_wait);
  OWL_TEST_WAIT_FOR (res->done);
}

static void
call_result_clear (CallResult *res)
{
  g_clear_pointer (&res->result, json_node_unref);
  g_clear_error (&res->error);
}

/* Two channels talk the whole envelope: calls answered now, later, with an
 * error, not at all; requests; events; pings; application messages; and an
 * outgoing call that times out. Nothing but a transport is needed. */
static void
test_channel_pair (void)
{
  Side client = { 0 }, server = { 0 };
  CallResult res;
  g_autofree char *ping = NULL;
  gsize len;

  side_init (&client);
  side_init (&server);
  pipes = (Pipe) { client.end, server.end };

  call_and_wait (&client, "add", "[2, 3]", 0, &res);
  g_assert_no_error (res.error);
  g_assert_cmpint (json_node_get_int (res.result), ==, 5);
  call_result_clear (&res);

  call_and_wait (&client, "later", NULL, 0, &res);
  g_assert_no_error (res.error);
  g_assert_cmpstr (json_node_get_string (res.result), ==, "later");
  call_result_clear (&res);

  call_and_wait (&server, "refuse", NULL, 0, &res);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_FORBIDDEN);
  g_assert_cmpstr (res.error->message, ==, "Not you");
  call_result_clear (&res);

  call_and_wait (&client, "nobody", NULL, 0, &res);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_UNKNOWN_METHOD);
  call_result_clear (&res);

  call_and_wait (&client, NULL, "{\"q\": 1}", 0, &res);   /* a request */
  g_assert_no_error (res.error);
  owl_test_assert_json_equal (res.result, "{\"q\": 1}");
  call_result_clear (&res);

  /* The server side's own messages, events and pings. */
  g_assert_true (owl_channel_send_take (server.channel, g_strdup ("{\"type\":\"news\"}"), 15, NULL));
  g_assert_true (owl_channel_send_take (server.channel, g_strdup ("{\"type\":\"event\",\"event\":\"tick\"}"),
                                        31, NULL));
  ping = g_strdup ("{\"type\":\"ping\",\"id\":\"p1\"}");
  len = strlen (ping);
  g_assert_true (owl_channel_send_take (client.channel, g_steal_pointer (&ping), len, NULL));
  OWL_TEST_WAIT_FOR (client.messages->len == 1 && client.events->len > 0 && server.end->sent->len >= 8);
  g_assert_cmpstr (g_ptr_array_index (client.messages, 0), ==, "{\"type\":\"news\"}");
  g_assert_cmpstr (client.events->str, ==, "tick;");
  /* The pong is the protocol's: no application message on either side. */
  g_assert_cmpuint (server.messages->len, ==, 0);

  /* Nobody on the other end answers this one: a timeout, then closed. */
  owl_channel_detach (server.channel);
  call_and_wait (&client, "add", "[1, 1]", 50, &res);
  g_assert_error (res.error, OWL_ERROR, OWL_ERROR_TIMEOUT);
  call_result_clear (&res);
  owl_channel_set_closed (client.channel);
  g_assert_false (owl_channel_send_take (client.channel, g_strdup ("{}"), 2, NULL));

  side_clear (&client);
  side_clear (&server);
}

/* The broker seam -------------------------------------------------------------- */

typedef struct
{
  OwlBroker  parent;
  GString   *log;
} TestBroker;

static void
test_broker_free (OwlBroker *broker)
{
  g_free (broker);
}

static void
test_broker_join (OwlBroker            *broker,
                  const char           *room,
                  const OwlRoomOptions *options)
{
  g_string_append_printf (((TestBroker *) broker)->log, "join %s;", room);
}

static void
test_broker_leave (OwlBroker  *broker,
                   const char *room)
{
  g_string_append_printf (((TestBroker *) broker)->log, "leave %s;", room);
}

static void
test_broker_publish (OwlBroker  *broker,
                     const char *room,
                     GBytes     *payload,
                     const char *except_id)
{
  g_string_append_printf (((TestBroker *) broker)->log, "publish %s %.*s except %s;", room,
                          (int) g_bytes_get_size (payload), (const char *) g_bytes_get_data (payload, NULL),
                          except_id ? except_id : "none");
  /* The local members are served through deliver(), as a real broker does. */
  broker->deliver (broker->deliver_data, room, payload, NULL, except_id);
}

static const OwlBrokerClass test_broker_class = {
  .free = test_broker_free,
  .join = test_broker_join,
  .leave = test_broker_leave,
  .publish = test_broker_publish,
};

/* The broker hears of a room when its first local member joins and when
 * its last one leaves, gets every broadcast (with the excluded member's
 * id) and serves the local members through deliver(), and what it delivers
 * from elsewhere reaches the local members. Membership lives in OwlRooms alone. */
static void
test_rooms_broker (void)
{
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(OwlRooms) rooms = owl_rooms_new (g_main_context_default ());
  TestBroker *installed = g_new0 (TestBroker, 1);
  Side a = { 0 }, b = { 0 }, peer = { 0 };
  GList *members;
  g_auto(GStrv) names = NULL;

  side_init (&a);
  side_init (&b);
  side_init (&peer);
  pipes = (Pipe) { a.end, peer.end };

  installed->parent.klass = &test_broker_class;
  installed->log = log;
  owl_rooms_set_broker (rooms, &installed->parent);
  g_assert_true (owl_rooms_join (rooms, "lobby", a.owner, a.channel, "id-a"));
  g_assert_false (owl_rooms_join (rooms, "lobby", a.owner, a.channel, "id-a"));
  g_assert_true (owl_rooms_join (rooms, "lobby", b.owner, b.channel, "id-b"));
  g_assert_true (owl_rooms_has_member (rooms, "lobby", b.owner));
  members = owl_rooms_list_members (rooms, "lobby");
  g_assert_cmpuint (g_list_length (members), ==, 2);
  g_list_free (members);

  owl_rooms_broadcast_take (rooms, "lobby", g_strdup ("{\"n\":1}"), 7, b.owner);
  /* a's frame went to a's transport; b was excluded. */
  g_assert_cmpuint (a.end->sent->len, ==, 1);
  g_assert_cmpuint (b.end->sent->len, ==, 0);

  /* A broadcast from elsewhere reaches every local member. */
  {
    g_autoptr(GBytes) remote = g_bytes_new_static ("{\"n\":2}", 7);

    installed->parent.deliver (installed->parent.deliver_data, "lobby", remote, NULL, NULL);
    g_assert_cmpuint (a.end->sent->len, ==, 2);
    g_assert_cmpuint (b.end->sent->len, ==, 1);
  }

  g_assert_true (owl_rooms_leave (rooms, "lobby", a.owner));
  owl_rooms_leave_all (rooms, b.owner);
  names = owl_rooms_dup_names (rooms);
  g_assert_cmpuint (g_strv_length (names), ==, 0);
  g_assert_cmpstr (log->str, ==, "join lobby;publish lobby {\"n\":1} except id-b;leave lobby;");

  side_clear (&a);
  side_clear (&b);
  side_clear (&peer);
}

/* The auth chain alone ----------------------------------------------------------- */

/* A guard that decides by the X-Test header: "ok" accepts as alice, "no"
 * refuses, "later" accepts from the main loop, "never" keeps the attempt. */
typedef struct
{
  OwlGuard   parent_instance;
  GPtrArray *kept;
} ChainGuard;

typedef OwlGuardClass ChainGuardClass;

static GType chain_guard_get_type (void);
G_DEFINE_TYPE (ChainGuard, chain_guard, OWL_TYPE_GUARD)

static gboolean
chain_guard_match (OwlGuard   *guard,
                   OwlRequest *request)
{
  return owl_request_get_header (request, "X-Test") != NULL;
}

static gboolean
accept_alice_cb (gpointer data)
{
  g_autoptr(OwlAuth) auth = owl_auth_new ("alice");

  owl_attempt_accept (data, auth);
  return G_SOURCE_REMOVE;
}

static void
chain_guard_authenticate (OwlGuard   *guard,
                          OwlAttempt *attempt)
{
  const char *how = owl_request_get_header (owl_attempt_get_request (attempt), "X-Test");

  if (g_str_equal (how, "ok"))
    accept_alice_cb (attempt);
  else if (g_str_equal (how, "no"))
    owl_attempt_reject (attempt, OWL_ERROR_AUTH_FAILED, "No");
  else if (g_str_equal (how, "later"))
    g_idle_add_full (G_PRIORITY_DEFAULT, accept_alice_cb, g_object_ref (attempt), g_object_unref);
  else
    g_ptr_array_add (((ChainGuard *) guard)->kept, g_object_ref (attempt));
}

static void
chain_guard_finalize (GObject *object)
{
  g_ptr_array_unref (((ChainGuard *) object)->kept);
  G_OBJECT_CLASS (chain_guard_parent_class)->finalize (object);
}

static void
chain_guard_class_init (ChainGuardClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = chain_guard_finalize;
  klass->match = chain_guard_match;
  klass->authenticate = chain_guard_authenticate;
}

static void
chain_guard_init (ChainGuard *self)
{
  self->kept = g_ptr_array_new_with_free_func (g_object_unref);
}

typedef struct
{
  gboolean        done;
  OwlAuthOutcome  outcome;
  char           *user;
  OwlError        code;
} ChainResult;

static void
chain_done (gpointer        user_data,
            OwlAuthOutcome  outcome,
            OwlAuth        *auth,
            const GError   *error)
{
  ChainResult *res = user_data;

  g_assert_false (res->done);
  res->done = TRUE;
  res->outcome = outcome;
  res->user = auth ? g_strdup (owl_auth_get_user_id (auth)) : NULL;
  res->code = error ? error->code : 0;
}

static gboolean
refuse_bob (gpointer   user_data,
            OwlAuth   *auth,
            GError   **error)
{
  if (!g_str_equal (owl_auth_get_user_id (auth), "bob"))
    return TRUE;
  g_set_error_literal (error, OWL_ERROR, OWL_ERROR_RATE_LIMITED, "Not bob");
  return FALSE;
}

/* A request with X-Test: @how, as an OwlRequest made from a refresh. */
static OwlRequest *
request_with (const char *how)
{
  return owl_test_request_new ("/x", "X-Test", how);
}

static OwlAuthOutcome
run_chain (OwlAuthChain *chain,
           const char   *how,
           const char  **gates,
           ChainResult  *res)
{
  const char *guards[] = { "g", NULL };
  g_autoptr(OwlRequest) request = request_with (how);
  OwlAuthRun *run;

  g_clear_pointer (&res->user, g_free);
  *res = (ChainResult) { FALSE };
  run = owl_auth_chain_run (chain, guards, gates, request, 1, g_main_context_default (),
                            refuse_bob, chain_done, res);
  OWL_TEST_WAIT_FOR (res->done);
  owl_auth_run_free (run);
  return res->outcome;
}

static void
test_auth_chain (void)
{
  g_autoptr(OwlAuthChain) chain = owl_auth_chain_new ();
  g_autoptr(OwlGuard) guard = g_object_new (chain_guard_get_type (), NULL);
  g_autoptr(OwlGate) admin = owl_scope_gate_new ((const char *[]) { "admin", NULL });
  const char *no_gates[] = { NULL }, *admin_gate[] = { "admin", NULL };
  const char *guards[] = { "g", NULL };
  ChainResult res = { FALSE };
  g_autoptr(OwlRequest) never = request_with ("never");
  GPtrArray *kept = ((ChainGuard *) guard)->kept;
  OwlAuthRun *run;

  g_assert_true (owl_auth_chain_add_guard (chain, "g", guard, NULL));
  g_assert_true (owl_auth_chain_add_gate (chain, "admin", admin, NULL));
  g_assert_false (owl_auth_chain_add_gate (chain, "admin", admin, NULL));

  g_assert_cmpint (run_chain (chain, "ok", no_gates, &res), ==, OWL_AUTH_ACCEPTED);
  g_assert_cmpstr (res.user, ==, "alice");
  g_assert_cmpint (run_chain (chain, "later", no_gates, &res), ==, OWL_AUTH_ACCEPTED);
  g_assert_cmpint (run_chain (chain, "no", no_gates, &res), ==, OWL_AUTH_GUARD);
  g_assert_cmpint (res.code, ==, OWL_ERROR_AUTH_FAILED);
  g_assert_cmpint (run_chain (chain, "ok", admin_gate, &res), ==, OWL_AUTH_GATE);
  g_assert_cmpint (res.code, ==, OWL_ERROR_FORBIDDEN);
  g_assert_cmpint (run_chain (chain, "never", no_gates, &res), ==, OWL_AUTH_TIMEOUT);
  g_assert_cmpint (res.code, ==, OWL_ERROR_TIMEOUT);
  g_assert_true (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 0))));

  /* No guard matches (no X-Test header). */
  {
    g_autoptr(OwlRequest) bare = owl_test_request_new ("/x", NULL, NULL);

    g_clear_pointer (&res.user, g_free);
    res = (ChainResult) { FALSE };
    run = owl_auth_chain_run (chain, guards, no_gates, bare, 1, g_main_context_default (),
                              NULL, chain_done, &res);
    g_assert_true (res.done);
    g_assert_cmpint (res.outcome, ==, OWL_AUTH_NO_GUARD);
    owl_auth_run_free (run);
  }

  /* Cancelled while waiting: the attempt sees it, nobody is answered. */
  g_clear_pointer (&res.user, g_free);
  res = (ChainResult) { FALSE };
  run = owl_auth_chain_run (chain, guards, no_gates, never, 1, g_main_context_default (),
                            NULL, chain_done, &res);
  g_assert_true (owl_auth_run_is_waiting (run));
  owl_auth_run_cancel (run);
  g_assert_true (g_cancellable_is_cancelled (owl_attempt_get_cancellable (g_ptr_array_index (kept, 1))));
  owl_auth_run_free (run);
  owl_test_run_for (1200);   /* past the timeout: still no answer */
  g_assert_false (res.done);
}

/* The service's connection signals ------------------------------------------------ */

static void
log_added (OwlSocketService *service,
           OwlConnection    *connection,
           GString          *log)
{
  g_string_append (log, "added;");
  g_assert_true (owl_socket_service_lookup_connection (service, owl_connection_get_id (connection)) == connection);
}

static void
log_removed (OwlSocketService *service,
             OwlConnection    *connection,
             GString          *log)
{
  g_string_append (log, "removed;");
  g_assert_null (owl_socket_service_lookup_connection (service, owl_connection_get_id (connection)));
}

static void
log_closed (OwlConnection *connection,
            guint          code,
            const char    *reason,
            GString       *log)
{
  g_string_append (log, "closed;");
}

static void
log_connection (OwlModule     *module,
                OwlConnection *connection,
                GString       *log)
{
  g_string_append (log, "connection;");
  g_signal_connect (connection, "closed", G_CALLBACK (log_closed), log);
}

static void
test_service_signals (OwlTestFixture *fixture,
                      gconstpointer   data)
{
  g_autoptr(GString) log = g_string_new (NULL);
  OwlModule *module = owl_test_fixture_add_echo_module (fixture, "echo", "/echo");
  OwlTestClient *client;

  g_signal_connect (fixture->service, "connection-added", G_CALLBACK (log_added), log);
  g_signal_connect (fixture->service, "connection-removed", G_CALLBACK (log_removed), log);
  g_signal_connect (module, "connection", G_CALLBACK (log_connection), log);
  owl_test_fixture_listen (fixture);

  client = owl_test_client_connect (fixture, "/echo");
  OWL_TEST_WAIT_FOR (log->len > 0);
  g_assert_cmpstr (log->str, ==, "added;connection;");
  soup_websocket_connection_close (client->ws, OWL_CLOSE_NORMAL, NULL);
  OWL_TEST_WAIT_FOR (g_str_has_suffix (log->str, "closed;"));
  g_assert_cmpstr (log->str, ==, "added;connection;removed;closed;");
  g_signal_handlers_disconnect_by_data (fixture->service, log);
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  g_test_add_func ("/owl/seams/channel-pair", test_channel_pair);
  g_test_add_func ("/owl/seams/rooms-broker", test_rooms_broker);
  g_test_add_func ("/owl/seams/auth-chain", test_auth_chain);
  OWL_TEST ("/owl/seams/service-signals", test_service_signals);

  return g_test_run ();
}
