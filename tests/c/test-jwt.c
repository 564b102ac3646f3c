/* test-jwt.c: the JWT verifier's refusals, without a network: a token's
 * structure, header, payload, algorithm and signature, its claims, leaks
 * and fuzzing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Keys are made in-process with GnuTLS. Hand-made tokens are encoded here
 * with GLib's base64 rather than owlsock's, so that the two encoders check
 * each other. Valid tokens are in test-jwt-valid.c, keys and signing in
 * test-jwt-keys.c; the helpers all three share in owl-test-jwt.c.
 */

#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <owlsock/owlsock.h>

#include "owl-jwt-private.h"
#include "owl-test-jwt.h"

/* Helpers */

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

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  make_pairs (OWL_JWT_ES256, es256);
  make_pairs (OWL_JWT_EDDSA, eddsa);

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
  g_test_add_func ("/owl/jwt/no-leak", test_no_leak);
  g_test_add_func ("/owl/jwt/fuzz/hs256", test_fuzz_hs256);
  g_test_add_func ("/owl/jwt/fuzz/es256", test_fuzz_es256);
  g_test_add_func ("/owl/jwt/fuzz/eddsa", test_fuzz_eddsa);

  ret = g_test_run ();

  free_pairs (es256);
  free_pairs (eddsa);
  return ret;
}
