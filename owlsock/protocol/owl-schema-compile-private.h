/* owl-schema-compile-private.h: the compiler's state, shared by the compiler
 * (owl-schema-compile.c) and the keywords' compile functions
 * (owl-schema-keywords.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "owl-schema-types-private.h"

G_BEGIN_DECLS

typedef struct
{
  Check *check;
  char  *ref;
  char  *name;                         /* the $defs member; NULL for "#" */
  char  *location;
} PendingRef;

typedef struct
{
  GPtrArray  *nodes;                   /* Node: the schema's, which owns them */
  Node       *root;
  GString    *path;                    /* JSON pointer of the schema being compiled */
  guint       depth;
  GPtrArray  *locations;               /* char *, by node index */
  GArray     *refs;                    /* PendingRef */
  GHashTable *defs;                    /* name -> Node: the root's $defs */
  guint8     *marks;                   /* by node index, for the cycle search */
  guint      *chains;                  /* by node index: longest same-location chain */
} Compiler;

typedef gboolean (*CompileFunc) (Compiler  *c,
                                 JsonNode  *value,
                                 Check     *check,
                                 GError   **error);

typedef struct
{
  const char  *name;
  CheckKind    kind;
  CompileFunc  compile;
} Keyword;

/* owl-schema-compile.c */

const char    *owl_schema_compile_location (Compiler     *c);
Node          *owl_schema_compile_child    (Compiler     *c,
                                            JsonNode     *json,
                                            const char   *keyword,
                                            const char   *name,
                                            int           index,
                                            GError      **error);

/* owl-schema-keywords.c */

const Keyword *owl_schema_find_keyword     (const char   *name);
gboolean       owl_schema_is_annotation    (const char   *name);
void           owl_schema_check_clear      (Check        *check);

G_END_DECLS
