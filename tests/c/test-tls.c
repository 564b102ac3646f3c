/* test-tls.c: wss on the service's own listener, held and abused
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * TLS connections keep their descriptor inside the TLS stream after the 101
 * (a plain one hands it to the frame layer), so the listener and the poller
 * see them differently: these tests hold connections across several
 * listener ticks, reset them mid-stream, and check that nothing is left
 * behind and nobody else is disturbed.
 */

#include "owl-test-util.h"

#include <string.h>

/* A guard that lets everyone in, answering from the main loop as a
 * database lookup would: the upgrade takes the paused path. */
typedef struct
{
  OwlGuard parent_instance;
} LaterGuard;

typedef OwlGuardClass LaterGuardClass;

static GType later_guard_get_type (void);
G_DEFINE_TYPE (LaterGuard, later_guard, OWL_TYPE_GUARD)

static gboolean
later_guard_match (OwlGuard   *guard,
                   OwlRequest *request)
{
  return TRUE;
}

static gboolean
later_accept_cb (gpointer data)
{
  OwlAttempt *attempt = data;
  g_autoptr(OwlAuth) auth = g_object_new (OWL_TYPE_AUTH, "user-id", "tester", NULL);

  owl_attempt_accept (attempt, auth);
  return G_SOURCE_REMOVE;
}

static void
later_guard_authenticate (OwlGuard   *guard,
                          OwlAttempt *attempt)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, later_accept_cb, g_object_ref (attempt), g_object_unref);
}

static void
later_guard_class_init (LaterGuardClass *klass)
{
  klass->match = later_guard_match;
  klass->authenticate = later_guard_authenticate;
}

static void
later_guard_init (LaterGuard *self)
{
}

static void
tls_listen (OwlTestFixture *fixture)
{
  owl_test_fixture_use_tls (fixture);
  owl_test_fixture_add_echo_module (fixture, "echo", "/echo");
  owl_test_fixture_listen (fixture);
}

static void
assert_echo (OwlTestClient *client,
             guint          index,
             const char    *text)
{
  g_autoptr(JsonNode) node = NULL;

  owl_test_client_send (client, text);
  node = owl_test_client_wait_json (client, index);
  owl_test_assert_json_equal (node, text);
}

/* Held connections ------------------------------------------------------------ */

/* Longer than two ticks of the listener (1 s each), which once cut every
 * upgraded TLS connection it still remembered. */
#define HOLD_MS 2500

static void
test_hold (OwlTestFixture *fixture,
           gconstpointer   data)
{
  g_autoptr(OwlGuard) guard = g_object_new (later_guard_get_type (), NULL);
  const char *guards[] = { "later", NULL };
  g_autoptr(GError) error = NULL;
  OwlTestClient *plain, *authed;

  g_assert_true (owl_socket_service_add_guard (fixture->service, "later", guard, &error));
  g_assert_no_error (error);
  owl_test_fixture_add_echo_module_with (fixture, "guarded", "/guarded", "guards", guards, NULL);
  tls_listen (fixture);

  plain = owl_test_client_connect (fixture, "/echo");
  authed = owl_test_client_connect (fixture, "/guarded");
  assert_echo (plain, 0, "{\"n\":1}");
  assert_echo (authed, 0, "{\"n\":1}");

  /* Nothing may end while the connections sit there. */
  owl_test_run_for (HOLD_MS);
  g_assert_cmpuint (plain->n_closed, ==, 0);
  g_assert_cmpuint (authed->n_closed, ==, 0);
  g_assert_cmpuint (owl_socket_service_get_n_connections (fixture->service), ==, 2);

  assert_echo (plain, 1, "{\"n\":2}");
  assert_echo (authed, 1, "{\"n\":2}");
}

/* Resets --------------------------------------------------------------------- */

typedef enum
{
  RESET_AFTER_ECHO,    /* a whole message went through first */
  RESET_AFTER_FRAME,   /* a message, and the reset right behind it */
  RESET_MID_FRAME,     /* half a frame, then the reset */
} ResetWhen;

static gboolean
set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A low-priority source runs only when nothing of higher priority is
 * ready: a source stuck ready (a busy loop) would starve it forever. */
static void
assert_main_loop_idles (void)
{
  gboolean ran = FALSE;

  g_idle_add_full (G_PRIORITY_LOW, set_flag_cb, &ran, NULL);
  OWL_TEST_WAIT_FOR (ran);
}

static guint
stats_uint (OwlSocketService *service,
            const char       *key)
{
  g_autoptr(GVariant) stats = owl_socket_service_dup_stats (service);
  guint value = 0;

  g_assert_true (g_variant_lookup (stats, key, "u", &value));
  return value;
}

static void
reset_one (OwlTestFixture *fixture,
           ResetWhen       when)
{
  OwlTestRaw *raw;
  guint status = 0;

  raw = owl_test_raw_connect_with (fixture->port, "/echo", NULL, 0, TRUE, &status);
  g_assert_cmpuint (status, ==, 101);
  if (when == RESET_AFTER_ECHO)
    {
      g_autoptr(OwlTestFrame) frame = NULL;

      g_assert_true (owl_test_raw_send_text (raw, "{\"type\":\"hi\"}"));
      frame = owl_test_raw_read_frame (raw);
      g_assert_nonnull (frame);
      g_assert_cmpuint (frame->opcode, ==, 0x1);
    }
  else
    {
      /* The frame (or half of it) and the reset reach the server together,
       * as from a client in another process that crashes. */
      g_autoptr(GBytes) whole = owl_test_frame_build (0x81, TRUE, "{\"type\":\"hi\"}", 13);
      gsize len;
      const guint8 *bytes = g_bytes_get_data (whole, &len);

      owl_test_raw_write_now (raw, bytes, when == RESET_MID_FRAME ? len / 2 : len);
    }
  owl_test_raw_reset (raw);
  owl_test_raw_free (raw);
}

#define N_RESETS 8

static void
test_reset (OwlTestFixture *fixture,
            gconstpointer   data)
{
  ResetWhen when = GPOINTER_TO_INT (data);
  OwlTestClient *bystander;

  /* Ghosts would fill the per-IP slots: 8 resets on a cap of 4. */
  g_object_set (fixture->service, "max-connections-per-ip", 4, NULL);
  tls_listen (fixture);
  bystander = owl_test_client_connect (fixture, "/echo");
  assert_echo (bystander, 0, "{\"n\":0}");

  for (guint i = 0; i < N_RESETS; i++)
    {
      reset_one (fixture, when);
      OWL_TEST_WAIT_FOR (owl_socket_service_get_n_connections (fixture->service) == 1);
    }

  assert_main_loop_idles ();
  g_assert_cmpuint (stats_uint (fixture->service, "connections-open"), ==, 1);
  assert_echo (bystander, 1, "{\"n\":1}");

  /* A stop completes: nothing is left that never closes. */
  owl_socket_service_stop (fixture->service);
  OWL_TEST_WAIT_FOR (fixture->n_stopped == 1);
  owl_test_client_wait_closed (bystander);
  g_assert_cmpuint (bystander->close_code, ==, 1001);
  assert_main_loop_idles ();
}

int
main (int    argc,
      char **argv)
{
  owl_test_init (&argc, &argv);

  OWL_TEST ("/owl/tls/hold", test_hold);
  g_test_add ("/owl/tls/reset/after-echo", OwlTestFixture, GINT_TO_POINTER (RESET_AFTER_ECHO),
              owl_test_fixture_setup, test_reset, owl_test_fixture_teardown);
  g_test_add ("/owl/tls/reset/after-frame", OwlTestFixture, GINT_TO_POINTER (RESET_AFTER_FRAME),
              owl_test_fixture_setup, test_reset, owl_test_fixture_teardown);
  g_test_add ("/owl/tls/reset/mid-frame", OwlTestFixture, GINT_TO_POINTER (RESET_MID_FRAME),
              owl_test_fixture_setup, test_reset, owl_test_fixture_teardown);

  return g_test_run ();
}
