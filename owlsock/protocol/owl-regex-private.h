/* owl-regex-private.h: a linear-time matcher for JSON Schema's "pattern"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "owl-error.h"

G_BEGIN_DECLS

/* The most instructions a compiled pattern may hold; a search does at most
 * this much work per input position. */
#define OWL_REGEX_MAX_SIZE 10000

/* Groups may nest this deep and no deeper. */
#define OWL_REGEX_MAX_DEPTH 100

typedef struct _OwlRegex OwlRegex;

typedef enum
{
  OWL_REGEX_NO_MATCH,
  OWL_REGEX_MATCH,
  OWL_REGEX_TOO_COSTLY,
} OwlRegexResult;

/* Compiles an ECMA-262 pattern (no flags, read over code points). A pattern
 * that is malformed, too large, or needs what this matcher refuses
 * (backreferences, lookaround, \p{...}) fails with an
 * OWL_ERROR_INVALID_ARGUMENT error naming the problem and its byte offset.
 * The result is immutable: any number of threads may search with it. */
OwlRegex       *owl_regex_new         (const char  *pattern,
                                       GError     **error);
void            owl_regex_free        (OwlRegex    *regex);
const char     *owl_regex_get_pattern (OwlRegex    *regex);

/* The number of instructions @regex compiled to: a search of @len bytes
 * costs at most (@len + 1) times this much budget. */
guint           owl_regex_get_size    (OwlRegex    *regex);

/* Whether @regex matches anywhere in @subject, as RegExp.prototype.test()
 * answers (JSON Schema patterns are not implicitly anchored). @subject is
 * @len bytes of UTF-8 and need not be NUL-terminated; invalid bytes read as
 * U+FFFD each. Each NFA state visited at an input position costs one unit of
 * *@budget, and every position at least one; the search gives up with
 * OWL_REGEX_TOO_COSTLY (leaving 0) before it would overspend. @budget may be
 * NULL for no bound. */
OwlRegexResult  owl_regex_search      (OwlRegex    *regex,
                                       const char  *subject,
                                       gsize        len,
                                       gint64      *budget);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OwlRegex, owl_regex_free)

G_END_DECLS
