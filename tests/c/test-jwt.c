/* test-jwt.c: the JWT verifier and signer, without a network
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

/* Every check runs at this fixed time, so tests do not depend on the clock. */
#define NOW ((gint64) 1700000000)

#define SECRET     "0123456789abcdef0123456789abcdef"
#define SECRET2    "fedcba9876543210fedcba9876543210"
#define SECRET_LEN 32

typedef struct
{
  char *private_pem;
  char *public_pem;
} KeyPair;

/* Made once in main(): two pairs per algorithm, the second for "signed
 * with another key". */
static KeyPair es256[2];
static KeyPair eddsa[2];

static const OwlJwtCheck check_now = { .now = NOW };

/* Helpers */

static char *
b64url (const void *data,
        gsize       len)
{
  g_autofree char *text = g_base64_encode (data, len);

  g_strdelimit (text, "+", '-');
  g_strdelimit (text, "/", '_');
  return g_strndup (text, strcspn (text, "="));
}

/* GLib's decoder is lenient, which is fine for tokens the tests made. */
static GBytes *
b64url_decode (const char *text,
               gsize       len)
{
  g_autoptr(GString) padded = g_string_new_len (text, len);
  guchar *data;
  gsize out_len;

  g_strdelimit (padded->str, "-", '+');
  g_strdelimit (padded->str, "_", '/');
  while (padded->len % 4 != 0)
    g_string_append_c (padded, '=');
  data = g_base64_decode (padded->str, &out_len);
  return g_bytes_new_take (data, out_len);
}

static const guint8 *
signing_key (OwlJwtAlg  alg,
             guint      which,
             gsize     *len)
{
  const char *key;

  switch (alg)
    {
    case OWL_JWT_HS256:
      *len = SECRET_LEN;
      return (const guint8 *) (which == 0 ? SECRET : SECRET2);
    case OWL_JWT_ES256:
      key = es256[which].private_pem;
      break;
    case OWL_JWT_EDDSA:
      key = eddsa[which].private_pem;
      break;
    default:
      g_assert_not_reached ();
    }
  *len = strlen (key);
  return (const guint8 *) key;
}

static char *
sign_with (OwlJwtAlg   alg,
           guint       which,
           const char *kid,
           JsonObject *claims)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *key = signing_key (alg, which, &len);
  char *token = owl_jwt_sign (alg, kid, key, len, claims, &error);

  g_assert_no_error (error);
  g_assert_nonnull (token);
  return token;
}

/* {"sub":"alice","iat":NOW,"exp":NOW+exp_in} */
static JsonObject *
claims_new (gint64 exp_in)
{
  JsonObject *claims = json_object_new ();

  json_object_set_string_member (claims, "sub", "alice");
  json_object_set_int_member (claims, "iat", NOW);
  json_object_set_int_member (claims, "exp", NOW + exp_in);
  return claims;
}

static char *
sign_default (OwlJwtAlg alg)
{
  g_autoptr(JsonObject) claims = claims_new (3600);

  return sign_with (alg, 0, NULL, claims);
}

static void
add_public (OwlJwtKeys *keys,
            const char *kid,
            const char *pem)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (owl_jwt_keys_add_public_pem (keys, kid, pem, strlen (pem), &error));
  g_assert_no_error (error);
}

static void
add_secret (OwlJwtKeys *keys,
            const char *kid,
            const char *secret)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (owl_jwt_keys_add_secret (keys, kid, (const guint8 *) secret,
                                          strlen (secret), &error));
  g_assert_no_error (error);
}

/* The first key of each algorithm named in @algs ("H", "E", "D"). */
static OwlJwtKeys *
keys_for (const char *algs)
{
  OwlJwtKeys *keys = owl_jwt_keys_new ();

  if (strchr (algs, 'H'))
    add_secret (keys, NULL, SECRET);
  if (strchr (algs, 'E'))
    add_public (keys, NULL, es256[0].public_pem);
  if (strchr (algs, 'D'))
    add_public (keys, NULL, eddsa[0].public_pem);
  return keys;
}

static JsonObject *
verify_ok (OwlJwtKeys        *keys,
           const OwlJwtCheck *check,
           const char        *token)
{
  g_autoptr(GError) error = NULL;
  JsonObject *claims = owl_jwt_verify (keys, check, token, strlen (token), &error);

  g_assert_no_error (error);
  g_assert_nonnull (claims);
  return claims;
}

/* No 8-byte window of the token may reach the message. */
static void
assert_no_leak (const char *message,
                const char *token,
                gsize       len)
{
  for (gsize i = 0; i + 8 <= len; i++)
    {
      char window[9];

      memcpy (window, token + i, 8);
      window[8] = '\0';
      if (strlen (window) == 8 && strstr (message, window) != NULL)
        g_error ("the message \"%s\" holds \"%s\" from the token", message, window);
    }
}

static void
assert_refused_len (OwlJwtKeys        *keys,
                    const OwlJwtCheck *check,
                    const char        *token,
                    gsize              len,
                    const char        *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) claims = owl_jwt_verify (keys, check, token, len, &error);

  g_assert_null (claims);
  g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
  g_assert_cmpstr (error->message, ==, message);
  assert_no_leak (error->message, token, len);
}

static void
assert_refused (OwlJwtKeys        *keys,
                const OwlJwtCheck *check,
                const char        *token,
                const char        *message)
{
  assert_refused_len (keys, check, token, strlen (token), message);
}

/* An HS256-signed token from raw header (@header_len bytes, which may hold
 * a NUL) and payload text, so that tests can say things owl_jwt_sign()
 * never would. */
static char *
craft_len (const char *header,
           gsize       header_len,
           const char *payload,
           const char *secret)
{
  g_autofree char *h = b64url (header, header_len);
  g_autofree char *p = b64url (payload, strlen (payload));
  g_autofree char *input = g_strconcat (h, ".", p, NULL);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret, strlen (secret));
  guint8 mac[32];
  gsize mac_len = sizeof mac;
  g_autofree char *sig = NULL;

  g_hmac_update (hmac, (const guchar *) input, -1);
  g_hmac_get_digest (hmac, mac, &mac_len);
  sig = b64url (mac, mac_len);
  return g_strconcat (input, ".", sig, NULL);
}

static char *
craft (const char *header,
       const char *payload,
       const char *secret)
{
  return craft_len (header, strlen (header), payload, secret);
}

static char *
craft_claims (const char *payload)
{
  return craft ("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET);
}

/* The token with part @index (0 header, 1 payload, 2 signature) replaced. */
static char *
with_part (const char *token,
           guint       index,
           const char *part)
{
  g_auto(GStrv) parts = g_strsplit (token, ".", 3);

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  g_free (parts[index]);
  parts[index] = g_strdup (part);
  return g_strjoinv (".", parts);
}

static GBytes *
get_signature (const char *token)
{
  const char *sig = strrchr (token, '.') + 1;

  return b64url_decode (sig, strlen (sig));
}

static char *
with_signature (const char   *token,
                const guint8 *sig,
                gsize         len)
{
  g_autofree char *text = b64url (sig, len);

  return with_part (token, 2, text);
}

/* ES256 signature twins */

/* The order of P-256's group, big-endian (SEC 2, 2.4.2): written out here
 * again, not taken from the library, so that the two check each other. */
static const guint8 p256_n[32] = {
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Whether s > n / 2, that is 2s > n: s doubled with its carry out of the
 * top byte, compared with n. */
static gboolean
s_is_high (const guint8 *s)
{
  guint8 twice[32];
  guint carry = 0;

  for (gint i = 31; i >= 0; i--)
    {
      guint v = 2u * s[i] + carry;

      twice[i] = v & 0xff;
      carry = v >> 8;
    }
  return carry != 0 || memcmp (twice, p256_n, 32) > 0;
}

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

static gboolean
token_is_high_s (const char *token)
{
  g_autoptr(GBytes) sig = get_signature (token);

  g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);
  return s_is_high ((const guint8 *) g_bytes_get_data (sig, NULL) + 32);
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

/* Structure */

static void
test_too_large (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  g_autofree char *token = sign_default (OWL_JWT_HS256);
  OwlJwtCheck check = { .now = NOW, .max_size = strlen (token) };
  g_autoptr(JsonObject) claims = NULL;
  g_autofree char *huge = g_strnfill (OWL_JWT_DEFAULT_MAX_SIZE + 1, 'A');

  claims = verify_ok (keys, &check, token);
  check.max_size--;
  assert_refused (keys, &check, token, "Token too large");

  /* Refused on its length alone, with the default limit. */
  assert_refused (keys, &check_now, huge, "Token too large");
}

static void
test_not_three_parts (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  g_autofree char *token = sign_default (OWL_JWT_HS256);
  g_autofree char *four = g_strconcat (token, ".AAAA", NULL);
  g_autofree char *two = g_strndup (token, strrchr (token, '.') - token);
  static const char *cases[] = { "", ".", "..", "...", "abc", "a.b", "a..b.c" };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (keys, &check_now, cases[i], "Malformed token");
  assert_refused (keys, &check_now, four, "Malformed token");
  assert_refused (keys, &check_now, two, "Malformed token");
  assert_refused_len (keys, &check_now, NULL, 0, "Malformed token");
}

/* The character at @pos replaced by @c. */
static char *
with_char (const char *token,
           gsize       pos,
           char        c)
{
  char *copy = g_strdup (token);

  copy[pos] = c;
  return copy;
}

/* The base64url character one above @c, whose low bit is clear. */
static char
with_low_bit (char c)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  gsize v = strchr (alphabet, c) - alphabet;

  g_assert_cmpuint (v & 1, ==, 0);
  return alphabet[v | 1];
}

static void
test_base64url_strict (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  g_autofree char *token = sign_default (OWL_JWT_HS256);
  gsize len = strlen (token);
  static const char bad_chars[] = { '+', '/', '=', ' ', '\n', '%', '\x80' };
  /* The signature has 43 characters: two more make a length of 1 mod 4. */
  static const char *suffixes[] = { "=", "==", " ", "\n", "AA" };
  g_autofree char *nul = g_strdup (token);
  g_autoptr(GBytes) sig = get_signature (token);
  g_autoptr(GBytes) same = NULL;
  g_autofree char *trailing = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_chars); i++)
    {
      g_autofree char *in_header = with_char (token, 3, bad_chars[i]);
      g_autofree char *in_sig = with_char (token, len - 5, bad_chars[i]);

      assert_refused (keys, &check_now, in_header, "Malformed token");
      assert_refused (keys, &check_now, in_sig, "Malformed token");
    }

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *longer = g_strconcat (token, suffixes[i], NULL);

      assert_refused (keys, &check_now, longer, "Malformed token");
    }

  /* A NUL inside the given length is just another bad byte. */
  nul[4] = '\0';
  assert_refused_len (keys, &check_now, nul, len, "Malformed token");

  /* 43 characters carry 258 bits for 256: the last one has two unused bits,
   * which must be zero. Setting one gives the same bytes under GLib's
   * lenient decoder, and is refused here. */
  g_assert_cmpuint (g_bytes_get_size (sig), ==, 32);
  trailing = with_char (token, len - 1, with_low_bit (token[len - 1]));
  same = get_signature (trailing);
  g_assert_true (g_bytes_equal (same, sig));
  assert_refused (keys, &check_now, trailing, "Malformed token");
}

/* Header */

static void
test_header_not_object (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  static const char *headers[] = {
    "[\"HS256\"]", "\"HS256\"", "42", "null", "{", "{\"alg\":\"HS256\"", "", "HS256",
    "{\"alg\":\"HS256\"} x",
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_autofree char *token = craft (headers[i], "{\"sub\":\"alice\"}", SECRET);

      assert_refused (keys, &check_now, token, "Malformed token");
    }
}

static void
assert_header (OwlJwtKeys *keys,
               const char *header,
               const char *message)
{
  g_autofree char *token = craft (header, "{\"sub\":\"alice\"}", SECRET);

  if (message == NULL)
    json_object_unref (verify_ok (keys, &check_now, token));
  else
    assert_refused (keys, &check_now, token, message);
}

static void
test_header_fields (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");

  assert_header (keys, "{\"alg\":\"HS256\"}", NULL);
  assert_header (keys, "{\"typ\":\"jwt\",\"alg\":\"HS256\"}", NULL);
  assert_header (keys, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", NULL);
  assert_header (keys, "{\"alg\":\"HS256\",\"typ\":\"application/at+jwt\"}", NULL);
  assert_header (keys, "{\"alg\":\"HS256\",\"jku\":\"https://evil.example/keys\"}", NULL);

  assert_header (keys, "{}", "Malformed token");
  assert_header (keys, "{\"typ\":\"JWT\"}", "Malformed token");
  assert_header (keys, "{\"alg\":256}", "Malformed token");
  assert_header (keys, "{\"alg\":[\"HS256\"]}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS256\",\"crit\":[]}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS256\",\"typ\":1}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS256\",\"kid\":7}", "Malformed token");
  assert_header (keys, "{\"alg\":\"HS512\"}", "Unsupported algorithm");
  assert_header (keys, "{\"alg\":\"RS256\"}", "Unsupported algorithm");
  assert_header (keys, "{\"alg\":\"hs256\"}", "Unsupported algorithm");
}

static void
test_alg_none (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("HED");
  static const char *names[] = { "none", "None", "NONE", "nOnE" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *header = g_strdup_printf ("{\"alg\":\"%s\",\"typ\":\"JWT\"}", names[i]);
      g_autofree char *h = b64url (header, strlen (header));
      g_autofree char *unsigned_token = g_strconcat (h, ".eyJzdWIiOiJhbGljZSJ9.", NULL);
      g_autofree char *signed_token = craft (header, "{\"sub\":\"alice\"}", SECRET);

      assert_refused (keys, &check_now, unsigned_token, "Unsupported algorithm");
      assert_refused (keys, &check_now, signed_token, "Unsupported algorithm");
    }
}

/* Payload */

static void
test_payload_not_object (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  g_autoptr(GString) deep = g_string_new ("{\"a\":");
  static const char *payloads[] = {
    "[{\"sub\":\"alice\"}]", "\"alice\"", "42", "null", "true", "{\"sub\":",
    "{\"sub\":\"alice\"}garbage", "", "\xff\xfe",
  };

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autofree char *token = craft_claims (payloads[i]);

      assert_refused (keys, &check_now, token, "Malformed token");
    }

  /* Deeper than the bound: refused without reading it all. */
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (deep, '[');
  {
    g_autofree char *token = craft_claims (deep->str);

    assert_refused (keys, &check_now, token, "Malformed token");
  }
}

/* Algorithm confusion */

static void
test_alg_confusion (void)
{
  g_autoptr(OwlJwtKeys) es_only = keys_for ("E");
  g_autoptr(OwlJwtKeys) ed_only = keys_for ("D");
  g_autoptr(OwlJwtKeys) hs_only = keys_for ("H");
  g_autoptr(OwlJwtKeys) es_and_hs = keys_for ("EH");
  g_autoptr(OwlJwtKeys) es_and_ed = keys_for ("ED");
  g_autoptr(JsonObject) claims = claims_new (3600);
  const char *pem = es256[0].public_pem;
  g_autofree char *hs = sign_default (OWL_JWT_HS256);
  g_autofree char *es = sign_default (OWL_JWT_ES256);
  g_autofree char *ed = sign_default (OWL_JWT_EDDSA);
  g_autofree char *with_pem = NULL;
  static const char es_json[] = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
  g_autofree char *es_header = b64url (es_json, strlen (es_json));
  g_autofree char *ed_as_es = with_part (ed, 0, es_header);
  g_autoptr(GError) error = NULL;

  /* The classic: the verifier's public key, which anybody may hold, used
   * as an HMAC secret. */
  with_pem = owl_jwt_sign (OWL_JWT_HS256, NULL, (const guint8 *) pem, strlen (pem),
                           claims, &error);
  g_assert_no_error (error);
  assert_refused (es_only, &check_now, with_pem, "Unsupported algorithm");
  assert_refused (es_and_hs, &check_now, with_pem, "Bad signature");

  assert_refused (es_only, &check_now, hs, "Unsupported algorithm");
  assert_refused (ed_only, &check_now, hs, "Unsupported algorithm");
  assert_refused (hs_only, &check_now, es, "Unsupported algorithm");
  assert_refused (hs_only, &check_now, ed, "Unsupported algorithm");
  assert_refused (es_only, &check_now, ed, "Unsupported algorithm");
  assert_refused (ed_only, &check_now, es, "Unsupported algorithm");

  /* An Ed25519 signature relabelled ES256 meets only the ES256 key. */
  assert_refused (es_and_ed, &check_now, ed_as_es, "Bad signature");
}

/* Signatures */

static void
assert_bad_signatures (OwlJwtAlg   alg,
                       const char *keys_spec)
{
  g_autoptr(OwlJwtKeys) keys = keys_for (keys_spec);
  g_autoptr(JsonObject) claims = claims_new (3600);
  g_autofree char *token = sign_with (alg, 0, NULL, claims);
  g_autofree char *other_key = sign_with (alg, 1, NULL, claims);
  g_autoptr(GBytes) sig = get_signature (token);
  gsize sig_len = g_bytes_get_size (sig);
  g_autofree guint8 *flipped = g_memdup2 (g_bytes_get_data (sig, NULL), sig_len);
  g_autofree guint8 *zeros = g_malloc0 (sig_len);
  g_autofree char *flipped_token = NULL;
  g_autofree char *truncated = with_signature (token, flipped, sig_len - 3);
  g_autofree char *zero_token = with_signature (token, zeros, sig_len);
  g_autofree char *empty = with_part (token, 2, "");
  g_autofree char *swapped = NULL;
  g_autoptr(JsonObject) other_claims = claims_new (7200);
  g_autofree char *other = sign_with (alg, 0, NULL, other_claims);
  g_auto(GStrv) other_parts = g_strsplit (other, ".", 3);

  flipped[sig_len / 2] ^= 0x01;
  flipped_token = with_signature (token, flipped, sig_len);
  swapped = with_part (token, 1, other_parts[1]);

  assert_refused (keys, &check_now, flipped_token, "Bad signature");
  assert_refused (keys, &check_now, other_key, "Bad signature");
  assert_refused (keys, &check_now, truncated, "Bad signature");
  assert_refused (keys, &check_now, zero_token, "Bad signature");
  assert_refused (keys, &check_now, empty, "Bad signature");
  assert_refused (keys, &check_now, swapped, "Bad signature");
}

static void
test_hs256_bad_signature (void)
{
  assert_bad_signatures (OWL_JWT_HS256, "H");
}

static void
test_es256_bad_signature (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("E");
  g_autofree char *token = sign_default (OWL_JWT_ES256);
  g_autoptr(GBytes) sig = get_signature (token);
  const guint8 *raw = g_bytes_get_data (sig, NULL);
  gnutls_datum_t r = { (unsigned char *) raw, 32 };
  gnutls_datum_t s = { (unsigned char *) raw + 32, 32 };
  gnutls_datum_t der = { NULL, 0 };
  g_autofree char *der_token = NULL;

  assert_bad_signatures (OWL_JWT_ES256, "E");

  /* The same signature in DER, as some signers wrongly send it. */
  g_assert_cmpint (gnutls_encode_rs_value (&der, &r, &s), ==, 0);
  der_token = with_signature (token, der.data, der.size);
  gnutls_free (der.data);
  assert_refused (keys, &check_now, der_token, "Bad signature");
}

static void
test_eddsa_bad_signature (void)
{
  assert_bad_signatures (OWL_JWT_EDDSA, "D");
}

/* Claims */

static char *
token_with_claims (const char *json)
{
  return craft_claims (json);
}

static void
assert_claims (OwlJwtKeys        *keys,
               const OwlJwtCheck *check,
               const char        *json,
               const char        *message)
{
  g_autofree char *token = token_with_claims (json);

  if (message == NULL)
    json_object_unref (verify_ok (keys, check, token));
  else
    assert_refused (keys, check, token, message);
}

static void
test_exp (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck lenient = { .now = NOW, .leeway = 30 };
  const OwlJwtCheck negative = { .now = NOW, .leeway = -100 };

  assert_claims (keys, &check_now, "{\"exp\":1700000001}", NULL);
  assert_claims (keys, &check_now, "{\"exp\":1700000000}", "Token expired");
  assert_claims (keys, &check_now, "{\"exp\":1699999990}", "Token expired");
  assert_claims (keys, &check_now, "{\"exp\":1700000000.5}", NULL);
  assert_claims (keys, &check_now, "{\"exp\":0}", "Token expired");
  assert_claims (keys, &check_now, "{\"exp\":-1e300}", "Token expired");

  assert_claims (keys, &lenient, "{\"exp\":1699999990}", NULL);
  assert_claims (keys, &lenient, "{\"exp\":1699999970}", "Token expired");
  assert_claims (keys, &negative, "{\"exp\":1700000001}", NULL);

  /* Far-future values do not overflow into the past. */
  assert_claims (keys, &lenient, "{\"exp\":9223372036854775807}", NULL);
  assert_claims (keys, &lenient, "{\"exp\":1e300}", NULL);
}

static void
test_nbf (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck lenient = { .now = NOW, .leeway = 200 };

  assert_claims (keys, &check_now, "{\"nbf\":1700000000}", NULL);
  assert_claims (keys, &check_now, "{\"nbf\":1700000100}", "Token not yet valid");
  assert_claims (keys, &lenient, "{\"nbf\":1700000100}", NULL);
  assert_claims (keys, &lenient, "{\"nbf\":1700000300}", "Token not yet valid");
}

static void
test_iat (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck lenient = { .now = NOW, .leeway = 200 };

  assert_claims (keys, &check_now, "{\"iat\":1700000000}", NULL);
  assert_claims (keys, &check_now, "{\"iat\":1600000000}", NULL);
  assert_claims (keys, &check_now, "{\"iat\":1700000100}", "Token issued in the future");
  assert_claims (keys, &lenient, "{\"iat\":1700000100}", NULL);
}

static void
test_time_claim_types (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  static const char *cases[] = {
    "{\"exp\":\"1800000000\"}", "{\"exp\":null}", "{\"exp\":true}", "{\"exp\":[1800000000]}",
    "{\"exp\":{}}", "{\"nbf\":\"0\"}", "{\"iat\":\"0\"}", "{\"exp\":1800000000,\"nbf\":false}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_claims (keys, &check_now, cases[i], "Malformed token");
}

static void
test_require_exp (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck strict = { .now = NOW, .require_exp = TRUE };

  assert_claims (keys, &check_now, "{\"sub\":\"alice\"}", NULL);
  assert_claims (keys, &strict, "{\"sub\":\"alice\"}", "Token has no expiry");
  assert_claims (keys, &strict, "{\"sub\":\"alice\",\"exp\":1800000000}", NULL);
}

static void
test_issuer (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck check = { .now = NOW, .issuer = "https://id.example" };

  assert_claims (keys, &check, "{\"iss\":\"https://id.example\"}", NULL);
  assert_claims (keys, &check, "{\"iss\":\"https://evil.example\"}", "Wrong issuer");
  assert_claims (keys, &check, "{\"iss\":\"https://id.example/\"}", "Wrong issuer");
  assert_claims (keys, &check, "{\"iss\":[\"https://id.example\"]}", "Wrong issuer");
  assert_claims (keys, &check, "{\"iss\":null}", "Wrong issuer");
  assert_claims (keys, &check, "{}", "Wrong issuer");
  assert_claims (keys, &check_now, "{\"iss\":\"https://evil.example\"}", NULL);
}

static void
test_audience (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck check = { .now = NOW, .audience = "chat" };

  assert_claims (keys, &check, "{\"aud\":\"chat\"}", NULL);
  assert_claims (keys, &check, "{\"aud\":[\"mail\",\"chat\"]}", NULL);
  assert_claims (keys, &check, "{\"aud\":[1,null,{},\"chat\"]}", NULL);
  assert_claims (keys, &check, "{\"aud\":\"mail\"}", "Wrong audience");
  assert_claims (keys, &check, "{\"aud\":\"Chat\"}", "Wrong audience");
  assert_claims (keys, &check, "{\"aud\":[\"mail\",\"calendar\"]}", "Wrong audience");
  assert_claims (keys, &check, "{\"aud\":[]}", "Wrong audience");
  assert_claims (keys, &check, "{\"aud\":[[\"chat\"]]}", "Wrong audience");
  assert_claims (keys, &check, "{\"aud\":{\"chat\":1}}", "Wrong audience");
  assert_claims (keys, &check, "{}", "Wrong audience");
  assert_claims (keys, &check_now, "{\"aud\":\"mail\"}", NULL);
}

/* Claims are checked in a fixed order, so one token gets one answer. */
static void
test_claim_order (void)
{
  g_autoptr(OwlJwtKeys) keys = keys_for ("H");
  const OwlJwtCheck check = { .now = NOW, .issuer = "a", .audience = "b" };

  assert_claims (keys, &check, "{\"exp\":1,\"iss\":\"x\",\"aud\":\"y\"}", "Token expired");
  assert_claims (keys, &check, "{\"exp\":\"1\",\"iss\":\"x\"}", "Malformed token");
  assert_claims (keys, &check, "{\"iss\":\"x\",\"aud\":\"y\"}", "Wrong issuer");
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

/* Leaks */

/* Refused tokens whose claims and secret are distinctive: none of it, and
 * no 8-byte window of the token, appears in any message. */
static void
test_no_leak (void)
{
  static const char *secret = "leaky-secret-LEAKY-SECRET-0123456";
  g_autoptr(OwlJwtKeys) keys = owl_jwt_keys_new ();
  const OwlJwtCheck check = { .now = NOW, .issuer = "good-issuer", .audience = "good-aud",
                              .require_exp = TRUE, .max_size = 300 };
  static const char *payloads[] = {
    "{\"sub\":\"sensitive-user\",\"exp\":1600000000}",
    "{\"sub\":\"sensitive-user\",\"exp\":1800000000,\"nbf\":1800000000}",
    "{\"sub\":\"sensitive-user\",\"exp\":1800000000,\"iat\":1800000000}",
    "{\"sub\":\"sensitive-user\",\"exp\":1800000000,\"iss\":\"sensitive-issuer\"}",
    "{\"sub\":\"sensitive-user\",\"exp\":1800000000,\"iss\":\"good-issuer\",\"aud\":\"sensitive-aud\"}",
    "{\"sub\":\"sensitive-user\",\"exp\":\"sensitive-exp\"}",
    "{\"sub\":\"sensitive-user\"}",
    "[\"sensitive-array\"]",
    "{\"sub\":\"sensitive-user\",\"pad\":\"................................................................................................................................\"}",
  };

  add_secret (keys, NULL, secret);
  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autofree char *token = craft ("{\"alg\":\"HS256\"}", payloads[i], secret);
      g_autofree char *forged = craft ("{\"alg\":\"HS256\"}", payloads[i], SECRET);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) claims = owl_jwt_verify (keys, &check, token, strlen (token), &error);
      g_autoptr(GError) forged_error = NULL;
      g_autoptr(JsonObject) forged_claims = owl_jwt_verify (keys, &check, forged, strlen (forged),
                                                           &forged_error);

      g_assert_null (claims);
      g_assert_null (forged_claims);
      g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
      g_assert_error (forged_error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
      g_test_message ("%s", error->message);
      g_assert_null (strstr (error->message, "sensitive"));
      g_assert_null (g_strstr_len (error->message, -1, "leaky"));
      assert_no_leak (error->message, token, strlen (token));
      assert_no_leak (forged_error->message, forged, strlen (forged));
    }
}

/* Fuzz */

/* Every single-byte change and every truncation of a valid token is
 * refused, and none crashes (the sanitizer build watches the reads). */
static void
assert_mutations_refused (OwlJwtAlg   alg,
                          const char *keys_spec)
{
  static const char replacements[] = { 'A', 'z', '0', '-', '_', '.', '=', '+', ' ', '\0', '\xff' };
  g_autoptr(OwlJwtKeys) keys = keys_for (keys_spec);
  g_autofree char *token = sign_default (alg);
  gsize len = strlen (token);
  g_autofree char *copy = g_malloc (len);

  for (gsize pos = 0; pos < len; pos++)
    {
      char tweaks[G_N_ELEMENTS (replacements) + 2];

      memcpy (tweaks, replacements, sizeof replacements);
      tweaks[G_N_ELEMENTS (replacements)] = token[pos] ^ 0x01;
      tweaks[G_N_ELEMENTS (replacements) + 1] = token[pos] + 1;

      for (guint i = 0; i < G_N_ELEMENTS (tweaks); i++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonObject) claims = NULL;

          if (tweaks[i] == token[pos])
            continue;
          memcpy (copy, token, len);
          copy[pos] = tweaks[i];
          claims = owl_jwt_verify (keys, &check_now, copy, len, &error);
          g_assert_null (claims);
          g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
        }

      {
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonObject) claims = owl_jwt_verify (keys, &check_now, token, pos, &error);

        g_assert_null (claims);
        g_assert_error (error, OWL_ERROR, OWL_ERROR_AUTH_FAILED);
      }
    }
}

static void
test_fuzz_hs256 (void)
{
  assert_mutations_refused (OWL_JWT_HS256, "HED");
}

static void
test_fuzz_es256 (void)
{
  assert_mutations_refused (OWL_JWT_ES256, "HED");
}

static void
test_fuzz_eddsa (void)
{
  assert_mutations_refused (OWL_JWT_EDDSA, "HED");
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

static void
make_pairs (OwlJwtAlg  alg,
            KeyPair   *pairs)
{
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (owl_jwt_generate_key (alg, &pairs[i].private_pem,
                                           &pairs[i].public_pem, &error));
      g_assert_no_error (error);
    }
}

static void
free_pairs (KeyPair *pairs)
{
  for (guint i = 0; i < 2; i++)
    {
      g_free (pairs[i].private_pem);
      g_free (pairs[i].public_pem);
    }
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
  g_test_add_func ("/owl/jwt/keys/add", test_keys_add);
  g_test_add_func ("/owl/jwt/hs256/valid", test_hs256_valid);
  g_test_add_func ("/owl/jwt/es256/valid", test_es256_valid);
  g_test_add_func ("/owl/jwt/eddsa/valid", test_eddsa_valid);
  g_test_add_func ("/owl/jwt/real-time", test_real_time);
  g_test_add_func ("/owl/jwt/hs256/known-answer", test_hs256_known_answer);
  g_test_add_func ("/owl/jwt/es256/rfc7515", test_es256_rfc7515);
  g_test_add_func ("/owl/jwt/eddsa/rfc8037", test_eddsa_rfc8037);
  g_test_add_func ("/owl/jwt/es256/short-r-s", test_es256_short_r_s);
  g_test_add_func ("/owl/jwt/es256/high-s", test_es256_high_s);
  g_test_add_func ("/owl/jwt/refuse/too-large", test_too_large);
  g_test_add_func ("/owl/jwt/refuse/not-three-parts", test_not_three_parts);
  g_test_add_func ("/owl/jwt/refuse/base64url", test_base64url_strict);
  g_test_add_func ("/owl/jwt/refuse/header-not-object", test_header_not_object);
  g_test_add_func ("/owl/jwt/refuse/header-fields", test_header_fields);
  g_test_add_func ("/owl/jwt/refuse/alg-none", test_alg_none);
  g_test_add_func ("/owl/jwt/refuse/payload-not-object", test_payload_not_object);
  g_test_add_func ("/owl/jwt/refuse/alg-confusion", test_alg_confusion);
  g_test_add_func ("/owl/jwt/hs256/bad-signature", test_hs256_bad_signature);
  g_test_add_func ("/owl/jwt/es256/bad-signature", test_es256_bad_signature);
  g_test_add_func ("/owl/jwt/eddsa/bad-signature", test_eddsa_bad_signature);
  g_test_add_func ("/owl/jwt/claims/exp", test_exp);
  g_test_add_func ("/owl/jwt/claims/nbf", test_nbf);
  g_test_add_func ("/owl/jwt/claims/iat", test_iat);
  g_test_add_func ("/owl/jwt/claims/time-types", test_time_claim_types);
  g_test_add_func ("/owl/jwt/claims/require-exp", test_require_exp);
  g_test_add_func ("/owl/jwt/claims/issuer", test_issuer);
  g_test_add_func ("/owl/jwt/claims/audience", test_audience);
  g_test_add_func ("/owl/jwt/claims/order", test_claim_order);
  g_test_add_func ("/owl/jwt/kid/rule", test_kid);
  g_test_add_func ("/owl/jwt/kid/hostile", test_kid_hostile);
  g_test_add_func ("/owl/jwt/guard/require-low-s", test_guard_require_low_s);
  g_test_add_func ("/owl/jwt/guard/token-id", test_guard_token_id);
  g_test_add_func ("/owl/jwt/no-leak", test_no_leak);
  g_test_add_func ("/owl/jwt/fuzz/hs256", test_fuzz_hs256);
  g_test_add_func ("/owl/jwt/fuzz/es256", test_fuzz_es256);
  g_test_add_func ("/owl/jwt/fuzz/eddsa", test_fuzz_eddsa);
  g_test_add_func ("/owl/jwt/sign/errors", test_sign_errors);
  g_test_add_func ("/owl/jwt/sign/sec1", test_sign_sec1);
  g_test_add_func ("/owl/jwt/sign/low-s", test_sign_low_s);
  g_test_add_func ("/owl/jwt/generate-key", test_generate_key);

  ret = g_test_run ();

  free_pairs (es256);
  free_pairs (eddsa);
  return ret;
}
