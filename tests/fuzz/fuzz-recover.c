/* fuzz-recover.c: libFuzzer target for the `recover` handshake parameter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a request's raw query string, as a reconnecting client (or
 * anyone) sends it: owl_recover_find() percent-decodes its last `recover`
 * value, owl_recover_parse() reads that as {ROOM: {offset, epoch}}.
 * Besides the sanitizers, the checks are: a value found is text without
 * NUL; a table parsed holds at most OWL_RECOVER_MAX_ROOMS rooms, each with
 * an epoch of at most OWL_RECOVER_MAX_EPOCH bytes.
 */

#include <stdint.h>
#include <string.h>

#include "owl-broker-private.h"
#include "owl-recover-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *query = g_strndup ((const char *) data, size);
  g_autofree char *value = NULL;
  g_autoptr(GHashTable) rooms = NULL;
  gboolean present = FALSE;
  GHashTableIter iter;
  gpointer pos;

  value = owl_recover_find (query, &present);
  if (value == NULL)
    return 0;
  if (!present || !g_utf8_validate (value, -1, NULL))
    __builtin_trap ();
  rooms = owl_recover_parse (value);
  if (rooms == NULL)
    return 0;
  if (g_hash_table_size (rooms) > OWL_RECOVER_MAX_ROOMS)
    __builtin_trap ();
  g_hash_table_iter_init (&iter, rooms);
  while (g_hash_table_iter_next (&iter, NULL, &pos))
    if (((OwlPosition *) pos)->epoch == NULL || strlen (((OwlPosition *) pos)->epoch) > OWL_RECOVER_MAX_EPOCH)
      __builtin_trap ();
  return 0;
}
