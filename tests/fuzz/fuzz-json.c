/* fuzz-json.c: libFuzzer target for owlsock's JSON reader
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is one incoming text message, parsed with the depth bound the
 * service uses (64). Besides the sanitizers, the checks are: a refusal names
 * MALFORMED or TOO_DEEP; nothing is read past the input (the copy has no NUL
 * and ends where ASan's redzone begins).
 */

#include <stdint.h>
#include <string.h>

#include "owl-json-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* An exact-size copy (never NULL), so that reading one byte past the
   * input lands in ASan's redzone. */
  char *text = g_malloc (MAX (size, 1));
  OwlError code = OWL_ERROR_FAILED;
  JsonNode *node;

  memcpy (text, data, size);
  node = owl_json_parse (text, size, 64, &code);
  if (node != NULL)
    json_node_unref (node);
  else if (code != OWL_ERROR_MALFORMED && code != OWL_ERROR_TOO_DEEP)
    __builtin_trap ();

  g_free (text);
  return 0;
}
