/* test-auth-claims.c: an auth's claims read one at a time and as JSON text,
 * the forms Python and GJS read them in
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <owlsock/owlsock.h>

#define CLAIMS "{\"sub\":\"alice\",\"org\":{\"id\":7,\"name\":\"Owls\"},\"roles\":[\"admin\",\"chat\"],\"n\":1.5}"

static OwlAuth *
auth_with_claims (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  return g_object_new (OWL_TYPE_AUTH, "user-id", "alice",
                       "claims", json_node_get_object (node), NULL);
}

static void
test_get_claim (void)
{
  g_autoptr(OwlAuth) auth = auth_with_claims (CLAIMS);
  JsonNode *org = owl_auth_get_claim (auth, "org");
  JsonNode *roles = owl_auth_get_claim (auth, "roles");

  g_assert_cmpstr (json_node_get_string (owl_auth_get_claim (auth, "sub")), ==, "alice");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (org));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (org), "id"), ==, 7);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (roles));
  g_assert_cmpstr (json_array_get_string_element (json_node_get_array (roles), 1), ==, "chat");
  g_assert_cmpfloat (json_node_get_double (owl_auth_get_claim (auth, "n")), ==, 1.5);
  g_assert_null (owl_auth_get_claim (auth, "missing"));
}

static void
test_dup_claims_json (void)
{
  g_autoptr(OwlAuth) auth = auth_with_claims (CLAIMS);
  g_autofree char *text = owl_auth_dup_claims_json (auth);

  /* json-glib keeps the members' order: the text is the claims as given. */
  g_assert_cmpstr (text, ==, CLAIMS);
}

static void
test_no_claims (void)
{
  g_autoptr(OwlAuth) auth = owl_auth_new ("bob");
  g_autofree char *text = owl_auth_dup_claims_json (auth);

  g_assert_null (text);
  /* No claims at all: sub is not made up from the user id here, unlike
   * owl_auth_get_claim_string(). */
  g_assert_null (owl_auth_get_claim (auth, "sub"));
  g_assert_cmpstr (owl_auth_get_claim_string (auth, "sub"), ==, "bob");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/owl/auth-claims/get-claim", test_get_claim);
  g_test_add_func ("/owl/auth-claims/dup-claims-json", test_dup_claims_json);
  g_test_add_func ("/owl/auth-claims/no-claims", test_no_claims);

  return g_test_run ();
}
