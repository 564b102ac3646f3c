/* owl-jwt-keys-private.h: inside a key set, for owl-jwt.c and owl-jwt-keys.c only
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-jwt-private.h"

#include <gnutls/abstract.h>

G_BEGIN_DECLS

/* Between the verifier (owl-jwt.c) and the keys (owl-jwt-keys.c); nothing
 * else looks inside a key set. */

typedef struct
{
  OwlJwtAlg        alg;
  char            *kid;
  guint8          *secret;      /* HS256 */
  gsize            secret_len;
  GHmac           *hmac;        /* HS256, keyed once: each check copies it */
  gnutls_pubkey_t  pubkey;      /* ES256, EdDSA */
} OwlJwtKey;

struct _OwlJwtKeys
{
  GPtrArray *keys;     /* OwlJwtKey */
  gboolean   has_kid;  /* some key has a kid: a token's kid must name one */
};

/* Whether @sig is @key's signature of @input: the constant-time HMAC for a
 * secret, GnuTLS for a public key; ES256 signatures in their raw JWS form,
 * and with @require_low_s only the low-S twin. */
gboolean    owl_jwt_key_verify    (const OwlJwtKey *key,
                                   const char      *input,
                                   gsize            input_len,
                                   const guint8    *sig,
                                   gsize            sig_len,
                                   gboolean         require_low_s);

/* Appends @data as unpadded base64url (RFC 7515, 2). */
void        owl_jwt_b64url_append (GString         *out,
                                   const guint8    *data,
                                   gsize            len);

G_END_DECLS
