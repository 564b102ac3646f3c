/* owl-regex-parse-private.h: ECMA-262 pattern syntax into a tree, for OwlRegex
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "owl-error.h"

G_BEGIN_DECLS

#define OWL_REGEX_MAX_CODE_POINT 0x10FFFF
#define OWL_REGEX_REPEAT_INF     G_MAXUINT64

typedef struct
{
  guint32 lo;
  guint32 hi;
} OwlRegexRange;

/* A character class: ASCII in a bitmap, the rest as sorted, disjoint,
 * non-adjacent ranges (searched by bisection). */
typedef struct
{
  guint32        ascii[4];
  OwlRegexRange *ranges;
  guint          n_ranges;
} OwlRegexClass;

typedef enum
{
  OWL_REGEX_NODE_CHAR,     /* value: the code point */
  OWL_REGEX_NODE_CLASS,    /* value: index into the tree's classes */
  OWL_REGEX_NODE_ASSERT,   /* value: an OwlRegexAssertion */
  OWL_REGEX_NODE_CAT,      /* kids, in order (none: the empty string) */
  OWL_REGEX_NODE_ALT,      /* kids, two or more */
  OWL_REGEX_NODE_REPEAT,   /* one kid, min to max times */
} OwlRegexNodeType;

typedef enum
{
  OWL_REGEX_ASSERT_START,         /* ^ */
  OWL_REGEX_ASSERT_END,           /* $ */
  OWL_REGEX_ASSERT_WORD,          /* \b */
  OWL_REGEX_ASSERT_NOT_WORD,      /* \B */
} OwlRegexAssertion;

typedef struct
{
  OwlRegexNodeType  type;
  guint32           value;
  guint64           min;
  guint64           max;      /* or OWL_REGEX_REPEAT_INF */
  gsize             offset;   /* where it starts in the pattern */
  guint64           size;     /* its instructions, filled in by owl-regex.c */
  GPtrArray        *kids;
} OwlRegexNode;

typedef struct
{
  OwlRegexNode *root;
  GPtrArray    *nodes;     /* owns every node */
  GArray       *classes;   /* OwlRegexClass */
} OwlRegexTree;

/* Reads @pattern into @tree, whose nodes nest at most a few levels per
 * group (groups nest OWL_REGEX_MAX_DEPTH deep at most) and whose size is
 * linear in the pattern's: counted repetition is not expanded. On failure
 * @error (OWL_ERROR_INVALID_ARGUMENT) names the problem and its offset. */
gboolean owl_regex_parse      (const char    *pattern,
                               OwlRegexTree  *tree,
                               GError       **error);
void     owl_regex_tree_clear (OwlRegexTree  *tree);
void     owl_regex_class_clear (gpointer      cls);

G_END_DECLS
