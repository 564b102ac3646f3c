/* owl-test-jwt.c: helpers the JWT tests share (test-jwt.c,
 * test-jwt-valid.c, test-jwt-keys.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "owl-test-jwt.h"

KeyPair es256[2];
KeyPair eddsa[2];

const OwlJwtCheck check_now = { .now = NOW };

/* Helpers */

char *
b64url (const void *data,
        gsize       len)
{
  g_autofree char *text = g_base64_encode (data, len);

  g_strdelimit (text, "+", '-');
  g_strdelimit (text, "/", '_');
  return g_strndup (text, strcspn (text, "="));
}

/* GLib's decoder is lenient, which is fine for tokens the tests made. */
GBytes *
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

const guint8 *
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

char *
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
JsonObject *
claims_new (gint64 exp_in)
{
  JsonObject *claims = json_object_new ();

  json_object_set_string_member (claims, "sub", "alice");
  json_object_set_int_member (claims, "iat", NOW);
  json_object_set_int_member (claims, "exp", NOW + exp_in);
  return claims;
}

char *
sign_default (OwlJwtAlg alg)
{
  g_autoptr(JsonObject) claims = claims_new (3600);

  return sign_with (alg, 0, NULL, claims);
}

void
add_public (OwlJwtKeys *keys,
            const char *kid,
            const char *pem)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (owl_jwt_keys_add_public_pem (keys, kid, pem, strlen (pem), &error));
  g_assert_no_error (error);
}

void
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
OwlJwtKeys *
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

JsonObject *
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
void
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

void
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

void
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
char *
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

/* The token with part @index (0 header, 1 payload, 2 signature) replaced. */
char *
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

GBytes *
get_signature (const char *token)
{
  const char *sig = strrchr (token, '.') + 1;

  return b64url_decode (sig, strlen (sig));
}

char *
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
const guint8 p256_n[32] = {
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

/* Whether s > n / 2, that is 2s > n: s doubled with its carry out of the
 * top byte, compared with n. */
gboolean
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

gboolean
token_is_high_s (const char *token)
{
  g_autoptr(GBytes) sig = get_signature (token);

  g_assert_cmpuint (g_bytes_get_size (sig), ==, 64);
  return s_is_high ((const guint8 *) g_bytes_get_data (sig, NULL) + 32);
}

void
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

void
free_pairs (KeyPair *pairs)
{
  for (guint i = 0; i < 2; i++)
    {
      g_free (pairs[i].private_pem);
      g_free (pairs[i].public_pem);
    }
}
