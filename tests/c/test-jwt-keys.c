/* test-jwt-keys.c: JWT key sets, key ids, the signer and key generation,
 * without a network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Keys are made in-process with GnuTLS.
 */

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <owlsock/owlsock.h>

#include "owl-jwt-private.h"
#include "owl-test-jwt.h"

/* Key sets */

/* A public key of a type owlsock refuses, made with GnuTLS. */
static char *
other_public_pem (gnutls_pk_algorithm_t pk,
                  unsigned int          bits)
{
  gnutls_privkey_t privkey;
  gnutls_pubkey_t pubkey;
  gnutls_datum_t out = { NULL, 0 };
  char *pem;

  g_assert_cmpint (gnutls_privkey_init (&privkey), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate2 (privkey, pk, bits, 0, NULL, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_init (&pubkey), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (pubkey, privkey, 0, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (pubkey, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  pem = g_strndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  gnutls_pubkey_deinit (pubkey);
  gnutls_privkey_deinit (privkey);
  return pem;
}

static void
assert_pem_refused (OwlJwtKeys *keys,
                    const char *pem)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (owl_jwt_keys_add_public_pem (keys, NULL, pem, strlen (pem), &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
}

static void
test_keys_add (void)
{
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *p384 = other_public_pem (GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1));
  g_autofree char *ed448 = other_public_pem (GNUTLS_PK_EDDSA_ED448,
                                             GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_ED448));

  /* RFC 7518, 3.2: a secret shorter than the hash is refused. */
  g_assert_false (owl_jwt_keys_add_secret (keys, NULL, (const guint8 *) SECRET,
                                           SECRET_LEN - 1, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  add_secret (keys, "a", SECRET);
  add_public (keys, "b", es256[0].public_pem);
  add_public (keys, NULL, eddsa[0].public_pem);
  g_assert_cmpuint (owl_jwt_keys_get_n_keys (keys), ==, 3);

  /* A kid names one key. */
  g_assert_false (owl_jwt_keys_add_secret (keys, "b", (const guint8 *) SECRET2,
                                           SECRET_LEN, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_EXISTS);

  assert_pem_refused (keys, "");
  assert_pem_refused (keys, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  assert_pem_refused (keys, es256[0].private_pem);
  assert_pem_refused (keys, p384);
  assert_pem_refused (keys, ed448);
  g_assert_cmpuint (owl_jwt_keys_get_n_keys (keys), ==, 3);
}

/* Key ids */

static void
test_kid (void)
{
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();
  g_autoptr(OwlJwtKeys) with_anonymous = owl_jwt_keys_new ();
  g_autoptr(OwlJwtKeys) es_keys = owl_jwt_keys_new ();
  g_autoptr(OwlJwtKeys) unnamed = keys_for ("H");
  g_autoptr(OwlJwtKeys) named_elsewhere = owl_jwt_keys_new ();
  g_autoptr(JsonObject) claims = claims_new (3600);
  g_autofree char *a_by_a = sign_with (OWL_JWT_HS256, 0, "a", claims);
  g_autofree char *b_by_b = sign_with (OWL_JWT_HS256, 1, "b", claims);
  g_autofree char *b_by_a = sign_with (OWL_JWT_HS256, 0, "b", claims);
  g_autofree char *c_by_a = sign_with (OWL_JWT_HS256, 0, "c", claims);
  g_autofree char *none_by_a = sign_with (OWL_JWT_HS256, 0, NULL, claims);
  g_autofree char *none_by_b = sign_with (OWL_JWT_HS256, 1, NULL, claims);
  g_autofree char *es_1_by_a = sign_with (OWL_JWT_HS256, 0, "es-1", claims);
  g_autofree char *es_2 = sign_with (OWL_JWT_ES256, 1, "es-2", claims);
  g_autofree char *es_2_as_1 = sign_with (OWL_JWT_ES256, 1, "es-1", claims);
  g_autofree char *es_2_as_3 = sign_with (OWL_JWT_ES256, 1, "es-3", claims);

  add_secret (keys, "a", SECRET);
  add_secret (keys, "b", SECRET2);
  g_clear_pointer (&claims, json_object_unref);

  claims = verify_ok (keys, &check_now, a_by_a);
  g_clear_pointer (&claims, json_object_unref);
  claims = verify_ok (keys, &check_now, b_by_b);
  g_clear_pointer (&claims, json_object_unref);
  /* Without a kid, every key of the algorithm is tried. */
  claims = verify_ok (keys, &check_now, none_by_b);
  g_clear_pointer (&claims, json_object_unref);
  /* A kid that names a key picks it; one that names none is refused
   * before any signature is checked. */
  assert_refused (keys, &check_now, b_by_a, "Bad signature");
  assert_refused (keys, &check_now, c_by_a, "Unknown key");

  /* A key added without a kid does not take in unknown kids, but is tried
   * beside the key a known kid names, and for tokens without kid. */
  add_secret (with_anonymous, "b", SECRET2);
  add_secret (with_anonymous, NULL, SECRET);
  assert_refused (with_anonymous, &check_now, c_by_a, "Unknown key");
  claims = verify_ok (with_anonymous, &check_now, b_by_a);
  g_clear_pointer (&claims, json_object_unref);
  claims = verify_ok (with_anonymous, &check_now, none_by_a);
  g_clear_pointer (&claims, json_object_unref);
  claims = verify_ok (with_anonymous, &check_now, b_by_b);
  g_clear_pointer (&claims, json_object_unref);

  add_public (es_keys, "es-1", es256[0].public_pem);
  add_public (es_keys, "es-2", es256[1].public_pem);
  claims = verify_ok (es_keys, &check_now, es_2);
  g_clear_pointer (&claims, json_object_unref);
  assert_refused (es_keys, &check_now, es_2_as_1, "Bad signature");
  assert_refused (es_keys, &check_now, es_2_as_3, "Unknown key");

  /* No key has a kid: a token's kid is ignored, as it always was. */
  claims = verify_ok (unnamed, &check_now, c_by_a);
  g_clear_pointer (&claims, json_object_unref);
  claims = verify_ok (unnamed, &check_now, a_by_a);
  g_clear_pointer (&claims, json_object_unref);

  /* One kid anywhere in the set is enough; a kid naming a key of another
   * algorithm names no key of the token's. With no key of the token's
   * algorithm at all, that is still what the answer says. */
  add_secret (named_elsewhere, NULL, SECRET);
  add_public (named_elsewhere, "es-1", es256[0].public_pem);
  claims = verify_ok (named_elsewhere, &check_now, none_by_a);
  g_clear_pointer (&claims, json_object_unref);
  assert_refused (named_elsewhere, &check_now, c_by_a, "Unknown key");
  assert_refused (named_elsewhere, &check_now, es_1_by_a, "Unknown key");
  assert_refused (es_keys, &check_now, es_1_by_a, "Unsupported algorithm");
}

/* The token signed with SECRET whose header names @kid (@kid_len bytes of
 * JSON string text, escapes and all). */
static char *
token_with_kid (const char *kid,
                gsize       kid_len)
{
  g_autoptr(GString) header = g_string_new ("{\"alg\":\"HS256\",\"kid\":\"");

  g_string_append_len (header, kid, kid_len);
  g_string_append (header, "\"}");
  return craft_len (header->str, header->len, "{\"sub\":\"alice\"}", SECRET);
}

/* A kid comes from whoever sends the token: it is only ever compared with
 * the kids of the set, as a string, and never opened, fetched or looked up
 * anywhere else. */
static void
test_kid_hostile (void)
{
  g_autoptr(OwlJwtKeys) named = owl_jwt_keys_new ();
  g_autoptr(OwlJwtKeys) unnamed = keys_for ("H");
  g_autoptr(OwlJwtKeys) odd_names = owl_jwt_keys_new ();
  g_autofree char *long_kid = g_strnfill (4096, 'k');
  const char *kids[] = {
    "../../../etc/passwd", "/etc/passwd", "", long_kid, "file:///etc/passwd",
    "https://evil.example/jwks.json", "a ", "A", "a/../a",
  };
  static const char escaped_nul[] = "a\\u0000b";
  static const char raw_nul[] = "a\0b";

  /* Key "a" holds the secret every token here is signed with. */
  add_secret (named, "a", SECRET);
  for (guint i = 0; i < G_N_ELEMENTS (kids); i++)
    {
      g_autofree char *token = token_with_kid (kids[i], strlen (kids[i]));
      g_autoptr(JsonObject) claims = NULL;

      assert_refused (named, &check_now, token, "Unknown key");
      claims = verify_ok (unnamed, &check_now, token);
    }

  /* Kids such as these are just names when a key has them. */
  add_secret (odd_names, "../../../etc/passwd", SECRET2);
  add_secret (odd_names, "", SECRET);
  add_secret (odd_names, long_kid, SECRET2);
  {
    g_autofree char *by_path_key = NULL;
    g_autofree char *by_long_key = NULL;
    g_autofree char *path_by_wrong = token_with_kid (kids[0], strlen (kids[0]));
    g_autofree char *empty = token_with_kid ("", 0);
    g_autofree char *long_by_wrong = token_with_kid (long_kid, 4096);
    g_autoptr(JsonObject) claims = claims_new (3600);
    g_autoptr(JsonObject) got = NULL;

    by_path_key = sign_with (OWL_JWT_HS256, 1, "../../../etc/passwd", claims);
    by_long_key = sign_with (OWL_JWT_HS256, 1, long_kid, claims);
    got = verify_ok (odd_names, &check_now, by_path_key);
    g_clear_pointer (&got, json_object_unref);
    got = verify_ok (odd_names, &check_now, by_long_key);
    g_clear_pointer (&got, json_object_unref);
    got = verify_ok (odd_names, &check_now, empty);
    g_clear_pointer (&got, json_object_unref);
    assert_refused (odd_names, &check_now, path_by_wrong, "Bad signature");
    assert_refused (odd_names, &check_now, long_by_wrong, "Bad signature");
  }

  /* The kid compared is the JSON string's value: "\u0061" is "a". */
  {
    g_autofree char *token = token_with_kid ("\\u0061", 6);
    json_object_unref (verify_ok (named, &check_now, token));
  }

  /* A NUL in a kid, escaped or raw, would make "a\0b" compare as "a" once
   * it is a C string, and name key "a". The JSON reader refuses both, so
   * the header is malformed whatever the keys. */
  {
    g_autofree char *escaped = token_with_kid (escaped_nul, strlen (escaped_nul));
    g_autofree char *raw = token_with_kid (raw_nul, sizeof raw_nul - 1);

    assert_refused (named, &check_now, escaped, "Malformed token");
    assert_refused (unnamed, &check_now, escaped, "Malformed token");
    assert_refused (named, &check_now, raw, "Malformed token");
    assert_refused (unnamed, &check_now, raw, "Malformed token");
  }
}

/* Signing */

static void
assert_sign_refused (OwlJwtAlg   alg,
                     const char *key)
{
  g_autoptr(JsonObject) claims = claims_new (3600);
  g_autoptr(GError) error = NULL;
  g_autofree char *token = owl_jwt_sign (alg, NULL, (const guint8 *) key, strlen (key),
                                         claims, &error);

  g_assert_null (token);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
}

static void
test_sign_errors (void)
{
  assert_sign_refused (OWL_JWT_HS256, "too short");
  assert_sign_refused (OWL_JWT_ES256, "not a key");
  assert_sign_refused (OWL_JWT_ES256, eddsa[0].private_pem);
  assert_sign_refused (OWL_JWT_EDDSA, es256[0].private_pem);
  assert_sign_refused (OWL_JWT_ES256, es256[0].public_pem);
}

/* The "EC PRIVATE KEY" (SEC 1) form signs as well as PKCS#8. */
static void
test_sign_sec1 (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("E");
  g_autoptr(JsonObject) claims = claims_new (3600);
  g_autoptr(JsonObject) got = NULL;
  gnutls_x509_privkey_t x509;
  gnutls_datum_t in = { (unsigned char *) es256[0].private_pem,
                        (unsigned int) strlen (es256[0].private_pem) };
  gnutls_datum_t out = { NULL, 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  g_assert_cmpint (gnutls_x509_privkey_init (&x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_import2 (x509, &in, GNUTLS_X509_FMT_PEM, NULL, 0), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2 (x509, GNUTLS_X509_FMT_PEM, &out), ==, 0);
  g_assert_nonnull (g_strstr_len ((const char *) out.data, out.size, "BEGIN EC PRIVATE KEY"));

  token = owl_jwt_sign (OWL_JWT_ES256, NULL, out.data, out.size, claims, &error);
  g_assert_no_error (error);
  got = verify_ok (keys, &check_now, token);

  gnutls_free (out.data);
  gnutls_x509_privkey_deinit (x509);
}

/* GnuTLS gives high S half the time; owl_jwt_sign() always hands out the
 * low twin. 64 low ones in a row by chance would be odds of 2^-64. */
static void
test_sign_low_s (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("E");
  const OwlJwtCheck strict = { .now = NOW, .require_low_s = TRUE };

  for (guint i = 0; i < 64; i++)
    {
      g_autoptr(JsonObject) claims = claims_new (i + 1);
      g_autofree char *token = sign_with (OWL_JWT_ES256, 0, NULL, claims);
      g_autoptr(JsonObject) got = NULL;

      g_assert_false (token_is_high_s (token));
      got = verify_ok (keys, &strict, token);
    }
}

static void
test_generate_key (void)
{
  g_autoptr(GError) error = NULL;
  char *private_pem = NULL;
  char *public_pem = NULL;

  g_assert_false (owl_jwt_generate_key (OWL_JWT_HS256, &private_pem, &public_pem, &error));
  g_assert_error (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT);
  g_assert_null (private_pem);

  /* The pairs main() made. */
  g_assert_true (g_str_has_prefix (es256[0].private_pem, "-----BEGIN PRIVATE KEY-----"));
  g_assert_true (g_str_has_prefix (es256[0].public_pem, "-----BEGIN PUBLIC KEY-----"));
  g_assert_true (g_str_has_prefix (eddsa[0].private_pem, "-----BEGIN PRIVATE KEY-----"));
  g_assert_true (g_str_has_prefix (eddsa[0].public_pem, "-----BEGIN PUBLIC KEY-----"));
  g_assert_cmpstr (es256[0].public_pem, !=, es256[1].public_pem);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  make_pairs (OWL_JWT_ES256, es256);
  make_pairs (OWL_JWT_EDDSA, eddsa);

  g_test_add_func ("/owl/jwt/keys/add", test_keys_add);
  g_test_add_func ("/owl/jwt/kid/rule", test_kid);
  g_test_add_func ("/owl/jwt/kid/hostile", test_kid_hostile);
  g_test_add_func ("/owl/jwt/sign/errors", test_sign_errors);
  g_test_add_func ("/owl/jwt/sign/sec1", test_sign_sec1);
  g_test_add_func ("/owl/jwt/sign/low-s", test_sign_low_s);
  g_test_add_func ("/owl/jwt/generate-key", test_generate_key);

  ret = g_test_run ();

  free_pairs (es256);
  free_pairs (eddsa);
  return ret;
}
