/* owl-test-schema.h: compiling schemas and checking instances, for the
 * OwlSchema tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-test-util.h"

G_BEGIN_DECLS

/* A compiled schema, or the test fails; freed when the test ends. */
OwlSchema  *owl_test_schema_new     (const char  *json);

/* @text read as owlsock reads a message; freed when the test ends. */
JsonNode   *owl_test_schema_parse   (const char  *text);

/* NULL when @text is valid, else "keyword at 'pointer'" (freed when the
 * test ends), with the message in *@message_out if not NULL. Checks that
 * the quiet form of owl_schema_check() and owl_schema_validate() agree. */
const char *owl_test_schema_failure (OwlSchema   *schema,
                                     const char  *text,
                                     char       **message_out);

/* The message of @text's failure, which must fail. */
const char *owl_test_schema_message (OwlSchema   *schema,
                                     const char  *text);

/* @json must be refused with an error containing @needle. */
void        owl_test_schema_refused (const char  *json,
                                     const char  *needle);

/* Waits for @client's message @index, which must be a `validation` error
 * whose details name @pointer and @keyword, and which leaves the
 * connection open (recoverable). */
void        owl_test_schema_wait_refusal (OwlTestClient *client,
                                          guint          index,
                                          const char    *pointer,
                                          const char    *keyword);

#define assert_valid(schema, text) \
  g_assert_cmpstr (owl_test_schema_failure (schema, text, NULL), ==, NULL)
#define assert_invalid(schema, text, pointer, keyword) \
  g_assert_cmpstr (owl_test_schema_failure (schema, text, NULL), ==, keyword " at '" pointer "'")

G_END_DECLS
