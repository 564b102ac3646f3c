/* owl-test-checks.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-checks.h"

void
owl_test_assert_upgrade_refused (OwlTestFixture *fixture,
                                 const char     *path,
                                 guint           status,
                                 const char     *needle)
{
  g_autofree char *body = NULL;
  guint got = owl_test_http_get (fixture->session, fixture->port, path, TRUE, &body);

  g_test_message ("%s: %u %s", path, got, body);
  g_assert_cmpuint (got, ==, status);
  g_assert_nonnull (strstr (body, needle));
}

void
owl_test_assert_echoes (OwlTestClient *client)
{
  guint n = client->texts->len;
  g_autoptr(JsonNode) reply = NULL;

  owl_test_client_send (client, "{\"type\":\"echo\",\"data\":\"still here\"}");
  reply = owl_test_client_wait_json (client, n);
  g_assert_cmpstr (owl_test_json_get_string (reply, "data"), ==, "still here");
}

void
owl_test_assert_echo_works (OwlTestFixture *fixture,
                            const char     *path)
{
  OwlTestClient *client = owl_test_client_connect (fixture, path);
  g_autoptr(JsonNode) node = NULL;

  owl_test_client_send (client, "{\"type\":\"still-here\",\"n\":42}");
  node = owl_test_client_wait_json (client, 0);
  owl_test_assert_json_equal (node, "{\"type\":\"still-here\",\"n\":42}");
  owl_test_client_free (client);
}

void
owl_test_count_notify (GObject    *object,
                       GParamSpec *pspec,
                       gpointer    user_data)
{
  (*(guint *) user_data)++;
}
