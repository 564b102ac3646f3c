/* test-jwt-valid.c: valid JWTs, without a network: round trips, the
 * current time, the RFC vectors, ES256 signature twins, and tokens through
 * the guard (its token-id and require-low-s)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Keys are made in-process with GnuTLS. Hand-made tokens are encoded here
 * with GLib's base64 rather than owlsock's, so that the two encoders check
 * each other; the RFC vectors check both against other implementations.
 */

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <owlsock/owlsock.h>

#include "owl-jwt-private.h"
#include "owl-test-jwt.h"

/* The token with its ES256 signature (r, s) replaced by (r, n - s), which
 * verifies as well: high-S for a low-S token and the other way round. */
static char *
ecdsa_twin (const char *token)
{
  g_autoptr(GBytes) sig = get_signature (token);
  guint8 raw[64];
  gint borrow = 0;

  g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);
  memcpy (raw, g_bytes_get_data (sig, NULL), 64);
  for (gint i = 31; i >= 0; i--)
    {
      gint d = p256_n[i] - raw[32 + i] - borrow;

      borrow = d < 0 ? 1 : 0;
      raw[32 + i] = (guint8) (d + 256 * borrow);
    }
  g_assert_cmpint (borrow, ==, 0);
  return with_signature (token, raw, sizeof raw);
}

/* Algorithm names */

static void
test_alg_names (void)
{
  static const char *refused[] = { "hs256", "none", "RS256", "HS512", "ES384", "Ed25519", "" };
  OwlJwtAlg alg;

  for (guint i = OWL_JWT_HS256; i <= OWL_JWT_EDDSA; i++)
    {
      g_assert_true (owl_jwt_alg_from_string (owl_jwt_alg_to_string (i), &alg));
      g_assert_cmpint (alg, ==, i);
    }
  g_assert_cmpstr (owl_jwt_alg_to_string (OWL_JWT_HS256), ==, "HS256");
  g_assert_cmpstr (owl_jwt_alg_to_string (OWL_JWT_ES256), ==, "ES256");
  g_assert_cmpstr (owl_jwt_alg_to_string (OWL_JWT_EDDSA), ==, "EdDSA");

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    g_assert_false (owl_jwt_alg_from_string (refused[i], &alg));
}

/* Valid tokens */

static void
assert_valid_roundtrip (OwlJwtAlg   alg,
                        const char *keys_spec)
{
  g_autoptr(OwlJwtKeys) keys = keys_for (keys_spec);
  g_autoptr(JsonObject) claims = claims_new (3600);
  g_autofree char *token = NULL;
  g_autoptr(JsonObject) got = NULL;
  g_autoptr(GBytes) header = NULL;
  g_autofree char *expected = NULL;

  json_object_set_string_member (claims, "scope", "chat:read chat:write");
  token = sign_with (alg, 0, "k1", claims);

  header = b64url_decode (token, strcspn (token, "."));
  expected = g_strdup_printf ("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
                              owl_jwt_alg_to_string (alg));
  g_assert_cmpmem (g_bytes_get_data (header, NULL), g_bytes_get_size (header),
                   expected, strlen (expected));

  got = verify_ok (keys, &check_now, token);
  g_assert_cmpstr (json_object_get_string_member (got, "sub"), ==, "alice");
  g_assert_cmpstr (json_object_get_string_member (got, "scope"), ==, "chat:read chat:write");
  g_assert_cmpint (json_object_get_int_member (got, "exp"), ==, NOW + 3600);
}

static void
test_hs256_valid (void)
{
  assert_valid_roundtrip (OWL_JWT_HS256, "H");
  assert_valid_roundtrip (OWL_JWT_HS256, "HED");
}

static void
test_es256_valid (void)
{
  assert_valid_roundtrip (OWL_JWT_ES256, "E");
  assert_valid_roundtrip (OWL_JWT_ES256, "HED");
}

static void
test_eddsa_valid (void)
{
  assert_valid_roundtrip (OWL_JWT_EDDSA, "D");
  assert_valid_roundtrip (OWL_JWT_EDDSA, "HED");
}

/* The current time is used when check.now is 0, and a NULL check means
 * the defaults. */
static void
test_real_time (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  g_autoptr(JsonObject) claims = json_object_new ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *token = NULL;
  g_autofree char *old = sign_default (OWL_JWT_HS256);
  g_autoptr(JsonObject) got = NULL;

  json_object_set_string_member (claims, "sub", "alice");
  json_object_set_int_member (claims, "exp", now + 600);
  token = sign_with (OWL_JWT_HS256, 0, NULL, claims);
  got = verify_ok (keys, NULL, token);

  /* NOW + 3600 is long past. */
  assert_refused (keys, NULL, old, "Token expired");
}

/* HS256 token made by Python's hmac module. */
static void
test_hs256_known_answer (void)
{
  static const char token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0"
    ".5-llL2sMZN9utB4JK6fJPxbT-iyOq7o_-onCKx9OO78";
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();
  g_autoptr(JsonObject) claims = NULL;

  add_secret (keys, NULL, "owlsock-test-secret-0123456789ab");
  claims = verify_ok (keys, &check_now, token);
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, "alice");
}

/* RFC 7515, appendix A.3; the PEM holds the x and y of its JWK. */
static void
test_es256_rfc7515 (void)
{
  static const char pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n"
    "6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n"
    "-----END PUBLIC KEY-----\n";
  static const char token[] =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  const OwlJwtCheck then = { .issuer = "joe", .now = 1300819000 };
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();
  g_autoptr(JsonObject) claims = NULL;

  const OwlJwtCheck then_low_s = { .issuer = "joe", .now = 1300819000, .require_low_s = TRUE };
  g_autofree char *low_twin = ecdsa_twin (token);
  g_autoptr(JsonObject) low_claims = NULL;

  add_public (keys, NULL, pem);
  claims = verify_ok (keys, &then, token);
  g_assert_true (json_object_get_boolean_member (claims, "http://example.com/is_root"));

  assert_refused (keys, &check_now, token, "Token expired");

  /* The RFC's own example is high-S, as any signer's is half the time:
   * refused only when low S is required, and its twin is not. */
  g_assert_true (token_is_high_s (token));
  assert_refused (keys, &then_low_s, token, "Bad signature");
  low_claims = verify_ok (keys, &then_low_s, low_twin);
}

/* RFC 8037, appendix A.4: a valid signature over a payload that is text,
 * not a claims object, so the failure comes after the signature check. */
static void
test_eddsa_rfc8037 (void)
{
  static const char pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
  static const char token[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  static const char tampered[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAA";
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();

  add_public (keys, NULL, pem);
  assert_refused (keys, &check_now, token, "Malformed token");
  assert_refused (keys, &check_now, tampered, "Bad signature");
}

/* About one signature in 128 has an r or s below 2^248, which DER writes
 * shorter; keep signing until one does, and check it round-trips. */
static void
test_es256_short_r_s (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("E");
  guint n_short = 0;

  for (guint i = 0; i < 5000 && n_short < 2; i++)
    {
      g_autoptr(JsonObject) claims = claims_new (i + 1);
      g_autofree char *token = sign_with (OWL_JWT_ES256, 0, NULL, claims);
      g_autoptr(GBytes) sig = get_signature (token);
      const guint8 *raw = g_bytes_get_data (sig, NULL);
      g_autoptr(JsonObject) got = NULL;

      g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);
      if (raw[0] == 0 || raw[32] == 0)
        n_short++;
      got = verify_ok (keys, &check_now, token);
    }
  g_assert_cmpuint (n_short, ==, 2);
}

/* Each ES256 signature has a high-S twin, another token string. By default
 * both verify (RFC 7515 has no low-S rule and common signers emit high S
 * half the time); require_low_s refuses the twin and keeps the original. */
static void
test_es256_high_s (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("E");
  const OwlJwtCheck strict = { .now = NOW, .require_low_s = TRUE };
  g_autofree char *token = sign_default (OWL_JWT_ES256);
  g_autofree char *twin = ecdsa_twin (token);
  g_autofree char *back = ecdsa_twin (twin);
  g_autoptr(JsonObject) by_default = NULL;
  g_autoptr(JsonObject) twin_by_default = NULL;
  g_autoptr(JsonObject) strictly = NULL;

  g_assert_false (token_is_high_s (token));
  g_assert_true (token_is_high_s (twin));
  g_assert_cmpstr (twin, !=, token);
  g_assert_cmpstr (back, ==, token);

  by_default = verify_ok (keys, &check_now, token);
  twin_by_default = verify_ok (keys, &check_now, twin);
  strictly = verify_ok (keys, &strict, token);
  assert_refused (keys, &strict, twin, "Bad signature");

  /* The low-S rule is ES256's: HS256 and EdDSA are unaffected. */
  {
    g_autoptr(OwlJwtKeys) others = keys_for ("HD");
    g_autofree char *hs = sign_default (OWL_JWT_HS256);
    g_autofree char *ed = sign_default (OWL_JWT_EDDSA);
    g_autoptr(JsonObject) hs_claims = verify_ok (others, &strict, hs);
    g_autoptr(JsonObject) ed_claims = verify_ok (others, &strict, ed);

    g_assert_nonnull (hs_claims);
    g_assert_nonnull (ed_claims);
  }
}

/* Through the guard */

/* The guard reads the real clock: claims that are valid now. */
static JsonObject *
live_claims (void)
{
  JsonObject *claims = json_object_new ();

  json_object_set_string_member (claims, "sub", "alice");
  json_object_set_int_member (claims, "exp", g_get_real_time () / G_USEC_PER_SEC + 600);
  return claims;
}

/* A JWT guard with the first key of each algorithm named in @algs. */
static OwlGuard *
guard_for (const char *algs)
{
  OwlGuard *guard = owl_jwt_guard_new ();
  g_autoptr(GError) error = NULL;

  if (strchr (algs, 'H'))
    owl_jwt_guard_add_secret (OWL_JWT_GUARD (guard), NULL, (const guint8 *) SECRET,
                              SECRET_LEN, &error);
  g_assert_no_error (error);
  if (strchr (algs, 'E'))
    owl_jwt_guard_add_public_key (OWL_JWT_GUARD (guard), NULL, es256[0].public_pem, &error);
  g_assert_no_error (error);
  if (strchr (algs, 'D'))
    owl_jwt_guard_add_public_key (OWL_JWT_GUARD (guard), NULL, eddsa[0].public_pem, &error);
  g_assert_no_error (error);
  return guard;
}

static OwlAuth *
guard_accepts (OwlGuard   *guard,
               const char *token)
{
  g_autoptr(GError) error = NULL;
  OwlAuth *auth = owl_jwt_guard_verify (OWL_JWT_GUARD (guard), token, &error);

  g_assert_no_error (error);
  g_assert_nonnull (auth);
  g_assert_cmpstr (owl_auth_get_user_id (auth), ==, "alice");
  return auth;
}

static void
guard_refuses (OwlGuard   *guard,
               const char *token,
               const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlAuth) auth = owl_jwt_guard_verify (OWL_JWT_GUARD (guard), token, &error);

  g_assert_null (auth);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
  g_assert_cmpstr (error->message, ==, message);
}

/* SHA-256 over "header.payload", unpadded base64url, computed here with
 * GLib alone. */
static char *
expected_token_id (const char *token)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (checksum, (const guchar *) token, strrchr (token, '.') - token);
  g_checksum_get_digest (checksum, digest, &len);
  return b64url (digest, len);
}

static void
assert_token_id (OwlAuth    *auth,
                 const char *token)
{
  g_autofree char *expected = expected_token_id (token);
  g_autofree char *property = NULL;

  g_assert_cmpuint (strlen (expected), ==, 43);
  g_assert_cmpstr (owl_auth_get_token_id (auth), ==, expected);
  g_object_get (auth, "token-id", &property, NULL);
  g_assert_cmpstr (property, ==, expected);
}

/* A token's two ES256 encodings verify by default and are one credential:
 * the same token-id. With require-low-s only the low one verifies. */
static void
test_guard_require_low_s (void)
{
  g_autoptr(OwlGuard) guard = guard_for ("E");
  g_autoptr(JsonObject) claims = live_claims ();
  g_autofree char *token = sign_with (OWL_JWT_ES256, 0, NULL, claims);
  g_autofree char *twin = ecdsa_twin (token);
  g_autoptr(OwlAuth) original = NULL;
  g_autoptr(OwlAuth) twin_auth = NULL;
  g_autoptr(OwlAuth) strict = NULL;
  gboolean low_s = TRUE;

  g_object_get (guard, "require-low-s", &low_s, NULL);
  g_assert_false (low_s);
  original = guard_accepts (guard, token);
  twin_auth = guard_accepts (guard, twin);
  assert_token_id (original, token);
  g_assert_cmpstr (owl_auth_get_token_id (twin_auth), ==, owl_auth_get_token_id (original));

  g_object_set (guard, "require-low-s", TRUE, NULL);
  strict = guard_accepts (guard, token);
  assert_token_id (strict, token);
  guard_refuses (guard, twin, "Bad signature");
}

/* Every algorithm's tokens get a token-id, of the signed content: ES256
 * signing the same claims again keeps it, other claims change it. Auths
 * that no JWT made have none. */
static void
test_guard_token_id (void)
{
  g_autoptr(OwlGuard) guard = guard_for ("HED");
  g_autoptr(JsonObject) claims = live_claims ();
  g_autoptr(JsonObject) other_claims = live_claims ();
  g_autofree char *es_again = NULL;
  g_autofree char *hs_other = NULL;
  g_autoptr(OwlAuth) es_again_auth = NULL;
  g_autoptr(OwlAuth) hs_other_auth = NULL;
  g_autoptr(OwlAuth) plain = owl_auth_new ("bob");
  const char *ids[3];

  for (OwlJwtAlg alg = OWL_JWT_HS256; alg <= OWL_JWT_EDDSA; alg++)
    {
      g_autofree char *token = sign_with (alg, 0, NULL, claims);
      g_autoptr(OwlAuth) auth = guard_accepts (guard, token);

      assert_token_id (auth, token);
      ids[alg] = g_intern_string (owl_auth_get_token_id (auth));
    }
  /* The headers name different algorithms, so the ids differ. */
  g_assert_true (ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);

  es_again = sign_with (OWL_JWT_ES256, 0, NULL, claims);
  es_again_auth = guard_accepts (guard, es_again);
  g_assert_cmpstr (owl_auth_get_token_id (es_again_auth), ==, ids[OWL_JWT_ES256]);

  json_object_set_string_member (other_claims, "jti", "another");
  hs_other = sign_with (OWL_JWT_HS256, 0, NULL, other_claims);
  hs_other_auth = guard_accepts (guard, hs_other);
  g_assert_cmpstr (owl_auth_get_token_id (hs_other_auth), !=, ids[OWL_JWT_HS256]);

  g_assert_null (owl_auth_get_token_id (plain));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  make_pairs (OWL_JWT_ES256, es256);
  make_pairs (OWL_JWT_EDDSA, eddsa);

  g_test_add_func ("/owl/jwt/alg-names", test_alg_names);
  g_test_add_func ("/owl/jwt/hs256/valid", test_hs256_valid);
  g_test_add_func ("/owl/jwt/es256/valid", test_es256_valid);
  g_test_add_func ("/owl/jwt/eddsa/valid", test_eddsa_valid);
  g_test_add_func ("/owl/jwt/real-time", test_real_time);
  g_test_add_func ("/owl/jwt/hs256/known-answer", test_hs256_known_answer);
  g_test_add_func ("/owl/jwt/es256/rfc7515", test_es256_rfc7515);
  g_test_add_func ("/owl/jwt/eddsa/rfc8037", test_eddsa_rfc8037);
  g_test_add_func ("/owl/jwt/es256/short-r-s", test_es256_short_r_s);
  g_test_add_func ("/owl/jwt/es256/high-s", test_es256_high_s);
  g_test_add_func ("/owl/jwt/guard/require-low-s", test_guard_require_low_s);
  g_test_add_func ("/owl/jwt/guard/token-id", test_guard_token_id);

  ret = g_test_run ();

  free_pairs (es256);
  free_pairs (eddsa);
  return ret;
}
