/* owl-test-auth.h: helpers the auth tests share (test-auth.c,
 * test-auth-refresh.c): tokens minted and remembered, the JWT guard and a
 * guarded echo module, connections that carry a token, a guard written in C
 * that answers later, and the check that no token reaches a log line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-jwt-private.h"
#include "owl-test-util.h"

G_BEGIN_DECLS

#define SECRET "0123456789abcdef0123456789abcdef-test-secret"

/* Every token this process minted, and every log line the library wrote:
 * no line may hold a token. Made and freed by each program's main(). */
extern GPtrArray *minted;

gint64
now_s (void);

/* Claims as a JSON text with %s for the subject and %ld for times. */
char *
mint_kid (OwlJwtAlg     alg,
          const char   *kid,
          const guint8 *key,
          gsize         key_len,
          const char   *claims_json);

char *
mint_full (OwlJwtAlg     alg,
           const guint8 *key,
           gsize         key_len,
           const char   *claims_json);

char *
mint (const char *sub,
      gint64      ttl,
      const char *extra);

OwlJwtGuard *
add_jwt_guard (OwlTestFixture *fixture,
               const char     *alias);

OwlModule *
add_guarded_echo (OwlTestFixture *fixture,
                  const char     *alias,
                  const char     *path);

OwlTestClient *
connect_with_header (OwlTestFixture *fixture,
                     const char     *path,
                     const char     *token);

/* An echo round trip: the client and its server side still work. */
void
assert_echoes (OwlTestClient *client);

/* A guard written in C that answers later (from the X-Test-User header),
 * or, by @mode, badly; the tests read what it kept. */
typedef struct
{
  OwlGuard  parent_instance;
  char     *mode;   /* "later", "drop", "never" */
  GPtrArray *kept;
} TestGuard;

OwlGuard *
test_guard_new (const char *mode);

/* No token of minted in the captured log. */
void
test_auth_no_token_in_logs (void);

G_END_DECLS
