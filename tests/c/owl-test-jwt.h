/* owl-test-jwt.h: helpers the JWT tests share (test-jwt.c,
 * test-jwt-valid.c, test-jwt-keys.c): tokens signed and made by hand, key
 * sets, and checks of what the verifier gives back
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <string.h>

#include <owlsock/owlsock.h>

#include "owl-jwt-private.h"

G_BEGIN_DECLS

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
extern KeyPair es256[2];
extern KeyPair eddsa[2];

extern const OwlJwtCheck check_now;

/* The order of P-256's group, big-endian (SEC 2, 2.4.2). */
extern const guint8 p256_n[32];

char *
b64url (const void *data,
        gsize       len);

/* GLib's decoder is lenient, which is fine for tokens the tests made. */
GBytes *
b64url_decode (const char *text,
               gsize       len);

const guint8 *
signing_key (OwlJwtAlg  alg,
             guint      which,
             gsize     *len);

char *
sign_with (OwlJwtAlg   alg,
           guint       which,
           const char *kid,
           JsonObject *claims);

/* {"sub":"alice","iat":NOW,"exp":NOW+exp_in} */
JsonObject *
claims_new (gint64 exp_in);

char *
sign_default (OwlJwtAlg alg);

void
add_public (OwlJwtKeys *keys,
            const char *kid,
            const char *pem);

void
add_secret (OwlJwtKeys *keys,
            const char *kid,
            const char *secret);

/* The first key of each algorithm named in @algs ("H", "E", "D"). */
OwlJwtKeys *
keys_for (const char *algs);

JsonObject *
verify_ok (OwlJwtKeys        *keys,
           const OwlJwtCheck *check,
           const char        *token);

/* No 8-byte window of the token may reach the message. */
void
assert_no_leak (const char *message,
                const char *token,
                gsize       len);

void
assert_refused_len (OwlJwtKeys        *keys,
                    const OwlJwtCheck *check,
                    const char        *token,
                    gsize              len,
                    const char        *message);

void
assert_refused (OwlJwtKeys        *keys,
                const OwlJwtCheck *check,
                const char        *token,
                const char        *message);

/* An HS256-signed token from raw header (@header_len bytes, which may hold
 * a NUL) and payload text, so that tests can say things owl_jwt_sign()
 * never would. */
char *
craft_len (const char *header,
           gsize       header_len,
           const char *payload,
           const char *secret);

/* The token with part @index (0 header, 1 payload, 2 signature) replaced. */
char *
with_part (const char *token,
           guint       index,
           const char *part);

GBytes *
get_signature (const char *token);

char *
with_signature (const char   *token,
                const guint8 *sig,
                gsize         len);

/* Whether s > n / 2, that is 2s > n: s doubled with its carry out of the
 * top byte, compared with n. */
gboolean
s_is_high (const guint8 *s);

gboolean
token_is_high_s (const char *token);

void
make_pairs (OwlJwtAlg  alg,
            KeyPair   *pairs);

void
free_pairs (KeyPair *pairs);

G_END_DECLS
