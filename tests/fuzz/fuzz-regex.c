/* fuzz-regex.c: libFuzzer target for OwlRegex
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a pattern, a NUL byte, then the subject (with no NUL, the
 * whole input is the pattern and the subject is empty). Besides the
 * sanitizers, the checks are: a refusal is OWL_ERROR_INVALID_ARGUMENT and
 * names an offset; a search never needs more than (length + 1) x (program
 * size) units of budget; the budget is exact: with the units a search used
 * it gives the same answer, with one unit fewer it gives up; nothing is read
 * past the subject (the copy ends where ASan's redzone begins).
 */

#include <stdint.h>
#include <string.h>

#include "owl-regex-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_search (OwlRegex   *regex,
              const char *subject,
              gsize       len)
{
  gint64 bound = (gint64) (len + 1) * owl_regex_get_size (regex);
  gint64 budget = bound;
  OwlRegexResult result = owl_regex_search (regex, subject, len, &budget);
  gint64 used = bound - budget;

  if (result == OWL_REGEX_TOO_COSTLY || budget < 0 || used < 1)
    __builtin_trap ();

  budget = used;
  if (owl_regex_search (regex, subject, len, &budget) != result || budget != 0)
    __builtin_trap ();
  budget = used - 1;
  if (owl_regex_search (regex, subject, len, &budget) != OWL_REGEX_TOO_COSTLY || budget != 0)
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const uint8_t *nul = memchr (data, '\0', size);
  gsize pattern_len = nul != NULL ? (gsize) (nul - data) : size;
  gsize len = nul != NULL ? size - pattern_len - 1 : 0;
  g_autofree char *pattern = g_strndup ((const char *) data, pattern_len);
  /* An exact-size copy (never NULL), so that reading one byte past the
   * subject lands in ASan's redzone. */
  g_autofree char *subject = g_malloc (MAX (len, 1));
  g_autoptr(GError) error = NULL;
  g_autoptr(OwlRegex) regex = NULL;

  if (len > 0)
    memcpy (subject, nul + 1, len);
  regex = owl_regex_new (pattern, &error);
  if (regex == NULL)
    {
      if (!g_error_matches (error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT) ||
          strstr (error->message, " at offset ") == NULL)
        __builtin_trap ();
      return 0;
    }
  if (error != NULL || strcmp (owl_regex_get_pattern (regex), pattern) != 0 ||
      owl_regex_get_size (regex) < 1 || owl_regex_get_size (regex) > OWL_REGEX_MAX_SIZE)
    __builtin_trap ();

  check_search (regex, subject, len);
  return 0;
}
