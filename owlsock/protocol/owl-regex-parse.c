/* owl-regex-parse.c: ECMA-262 pattern syntax into a tree, for OwlRegex
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The dialect is ECMA-262 without flags, as JSON Schema asks, read over
 * Unicode code points as with the "u" flag (which JSON Schema recommends):
 * "." and "[^a]" take a whole code point, "\u{1F432}" and a surrogate pair
 * of "\u" escapes name one. Where Annex B (web compatibility) and the "u"
 * flag differ, Annex B is followed only where every dialect agrees on the
 * meaning: a "{" that starts no quantifier, a lone "]" or "}", and an
 * escaped character that is not a letter or digit ("\%", "\-") stand for
 * themselves, and "[\w-.]" holds a literal "-". Escaped letters and digits
 * with no ECMA-262 meaning ("\a", "\z", "\A", "\1") are refused: other
 * dialects give them meanings that would silently differ.
 *
 * Refused, since they need backtracking or tables we do not carry:
 * backreferences, lookahead and lookbehind, "\p{...}". Named groups are
 * plain groups; a name used twice is refused, as before ES2025.
 *
 * The parser recurses once per group level, and refuses groups nested
 * deeper than OWL_REGEX_MAX_DEPTH. Counted repetition stays one node: its
 * cost is owl-regex.c's business.
 */

#include <stdarg.h>
#include <string.h>

#include "owl-regex-private.h"
#include "owl-regex-parse-private.h"

static const OwlRegexRange digit_set[] = { { '0', '9' } };
static const OwlRegexRange word_set[] = { { '0', '9' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' } };
/* ECMA-262 WhiteSpace and LineTerminator (Zs as of Unicode 15). */
static const OwlRegexRange space_set[] = {
  { 0x09, 0x0D }, { 0x20, 0x20 }, { 0xA0, 0xA0 }, { 0x1680, 0x1680 },
  { 0x2000, 0x200A }, { 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x205F },
  { 0x3000, 0x3000 }, { 0xFEFF, 0xFEFF },
};
static const OwlRegexRange line_terminator_set[] = { { 0x0A, 0x0A }, { 0x0D, 0x0D }, { 0x2028, 0x2029 } };

typedef struct
{
  const char  *pattern;
  const char  *p;
  guint        depth;
  GPtrArray   *nodes;     /* the tree's */
  GArray      *classes;   /* the tree's */
  GHashTable  *names;     /* group names seen, or NULL */
  GError     **error;
} Parser;

/* A parsed escape: a code point, or one of the sets \d \D \w \W \s \S. */
typedef struct
{
  guint32 cp;
  char    set;
} Atom;

static OwlRegexNode *parse_disjunction (Parser *ps);

/* Sets the error; FALSE, for "return ok || fail (...)". */
G_GNUC_PRINTF (3, 4)
static gboolean
fail (Parser     *ps,
      const char *at,
      const char *format,
      ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (ps->error, OWL_ERROR, OWL_ERROR_INVALID_ARGUMENT,
               "%s at offset %" G_GSIZE_FORMAT, what, (gsize) (at - ps->pattern));
  return FALSE;
}

static void
node_free (gpointer data)
{
  OwlRegexNode *node = data;

  g_clear_pointer (&node->kids, g_ptr_array_unref);
  g_free (node);
}

/* A node starting where the parser is; parse_term() and
 * parse_disjunction() correct that for the nodes made after reading. */
static OwlRegexNode *
node_new (Parser           *ps,
          OwlRegexNodeType  type,
          guint32           value)
{
  OwlRegexNode *node = g_new0 (OwlRegexNode, 1);

  node->type = type;
  node->value = value;
  node->offset = ps->p - ps->pattern;
  if (type == OWL_REGEX_NODE_CAT || type == OWL_REGEX_NODE_ALT || type == OWL_REGEX_NODE_REPEAT)
    node->kids = g_ptr_array_new ();
  g_ptr_array_add (ps->nodes, node);
  return node;
}

static void
add_range (GArray  *ranges,
           guint32  lo,
           guint32  hi)
{
  OwlRegexRange r = { lo, hi };

  g_array_append_val (ranges, r);
}

/* Adds @set, or everything outside it; @set is sorted and disjoint. */
static void
add_set (GArray              *ranges,
         const OwlRegexRange *set,
         guint                n,
         gboolean             negate)
{
  guint32 next = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!negate)
        add_range (ranges, set[i].lo, set[i].hi);
      else if (set[i].lo > next)
        add_range (ranges, next, set[i].lo - 1);
      next = set[i].hi + 1;
    }
  if (negate && next <= OWL_REGEX_MAX_CODE_POINT)
    add_range (ranges, next, OWL_REGEX_MAX_CODE_POINT);
}

static void
add_atom (GArray     *ranges,
          const Atom *atom)
{
  gboolean negate = g_ascii_isupper (atom->set);

  switch (g_ascii_tolower (atom->set))
    {
    case 'd':
      add_set (ranges, digit_set, G_N_ELEMENTS (digit_set), negate);
      break;
    case 'w':
      add_set (ranges, word_set, G_N_ELEMENTS (word_set), negate);
      break;
    case 's':
      add_set (ranges, space_set, G_N_ELEMENTS (space_set), negate);
      break;
    default:
      add_range (ranges, atom->cp, atom->cp);
      break;
    }
}

static gint
compare_ranges (gconstpointer a,
                gconstpointer b)
{
  const OwlRegexRange *x = a;
  const OwlRegexRange *y = b;

  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts @ranges and merges those that overlap or touch. */
static void
normalize_ranges (GArray *ranges)
{
  guint n = 0;

  g_array_sort (ranges, compare_ranges);
  for (guint i = 0; i < ranges->len; i++)
    {
      OwlRegexRange r = g_array_index (ranges, OwlRegexRange, i);
      OwlRegexRange *last = n > 0 ? &g_array_index (ranges, OwlRegexRange, n - 1) : NULL;

      if (last != NULL && r.lo <= last->hi + 1)
        last->hi = MAX (last->hi, r.hi);
      else
        g_array_index (ranges, OwlRegexRange, n++) = r;
    }
  g_array_set_size (ranges, n);
}

void
owl_regex_class_clear (gpointer data)
{
  OwlRegexClass *cls = data;

  g_clear_pointer (&cls->ranges, g_free);
}

/* A class node for the code points in @ranges (sorted in place), or for
 * all the others when @negate. */
static OwlRegexNode *
class_node (Parser   *ps,
            GArray   *ranges,
            gboolean  negate)
{
  OwlRegexClass cls = { { 0, }, NULL, 0 };
  g_autoptr(GArray) outside = NULL;
  g_autoptr(GArray) wide = g_array_new (FALSE, FALSE, sizeof (OwlRegexRange));

  normalize_ranges (ranges);
  if (negate)
    {
      outside = g_array_new (FALSE, FALSE, sizeof (OwlRegexRange));
      add_set (outside, (const OwlRegexRange *) (gpointer) ranges->data, ranges->len, TRUE);
      ranges = outside;
    }
  for (guint i = 0; i < ranges->len; i++)
    {
      OwlRegexRange r = g_array_index (ranges, OwlRegexRange, i);

      for (guint32 c = r.lo; c <= MIN (r.hi, 0x7F); c++)
        cls.ascii[c >> 5] |= 1u << (c & 31);
      if (r.hi >= 0x80)
        add_range (wide, MAX (r.lo, 0x80), r.hi);
    }
  cls.n_ranges = wide->len;
  cls.ranges = g_array_steal (wide, NULL);
  g_array_append_val (ps->classes, cls);
  return node_new (ps, OWL_REGEX_NODE_CLASS, ps->classes->len - 1);
}

/* Reads @n hex digits at @p, stopping at anything else (the NUL included). */
static gboolean
read_hex (const char *p,
          guint       n,
          guint32    *value)
{
  guint32 v = 0;

  for (guint i = 0; i < n; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);

      if (d < 0)
        return FALSE;
      v = v << 4 | (guint32) d;
    }
  *value = v;
  return TRUE;
}

/* After "\u": "{H...}", or "HHHH" (joined with a following "\uHHHH" when
 * the two make a surrogate pair, as the "u" flag reads them). */
static gboolean
parse_unicode_escape (Parser     *ps,
                      const char *start,
                      Atom       *atom)
{
  guint32 trail;

  if (*ps->p == '{')
    {
      const char *p = ps->p + 1;
      guint32 v = 0;

      for (; g_ascii_isxdigit (*p) && v <= OWL_REGEX_MAX_CODE_POINT; p++)
        v = v << 4 | (guint32) g_ascii_xdigit_value (*p);
      if (p == ps->p + 1 || *p != '}' || v > OWL_REGEX_MAX_CODE_POINT)
        return fail (ps, start, "invalid \\u{...} escape");
      atom->cp = v;
      ps->p = p + 1;
      return TRUE;
    }
  if (!read_hex (ps->p, 4, &atom->cp))
    return fail (ps, start, "\\u must be followed by four hex digits or {...}");
  ps->p += 4;
  if (atom->cp >= 0xD800 && atom->cp <= 0xDBFF &&
      ps->p[0] == '\\' && ps->p[1] == 'u' && read_hex (ps->p + 2, 4, &trail) &&
      trail >= 0xDC00 && trail <= 0xDFFF)
    {
      atom->cp = 0x10000 + ((atom->cp - 0xD800) << 10) + (trail - 0xDC00);
      ps->p += 6;
    }
  return TRUE;
}

/* Reads the escape at ps->p (on the backslash). Outside a class, \b and
 * \B are assertions that parse_term() reads before calling this. */
static gboolean
parse_escape (Parser   *ps,
              gboolean  in_class,
              Atom     *atom)
{
  const char *start = ps->p;
  char c = *++ps->p;

  atom->set = 0;
  if (c == '\0')
    return fail (ps, start, "\\ at end of pattern");
  ps->p++;
  switch (c)
    {
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
      atom->set = c;
      return TRUE;
    case 't': atom->cp = '\t'; return TRUE;
    case 'n': atom->cp = '\n'; return TRUE;
    case 'v': atom->cp = 0x0B; return TRUE;
    case 'f': atom->cp = 0x0C; return TRUE;
    case 'r': atom->cp = '\r'; return TRUE;
    case 'b': atom->cp = 0x08; return TRUE;   /* in a class */
    case '0':
      atom->cp = 0;
      return !g_ascii_isdigit (*ps->p) || fail (ps, start, "octal escapes are not supported");
    case 'c':
      if (!g_ascii_isalpha (*ps->p))
        return fail (ps, start, "\\c must be followed by an ASCII letter");
      atom->cp = (guchar) *ps->p++ % 32;
      return TRUE;
    case 'x':
      if (!read_hex (ps->p, 2, &atom->cp))
        return fail (ps, start, "\\x must be followed by two hex digits");
      ps->p += 2;
      return TRUE;
    case 'u':
      return parse_unicode_escape (ps, start, atom);
    case 'p': case 'P':
      return fail (ps, start, "Unicode property escapes are not supported");
    case 'k':
      return fail (ps, start, "backreferences are not supported");
    default:
      break;
    }
  if (g_ascii_isdigit (c) && !in_class)
    return fail (ps, start, "backreferences are not supported");
  if (g_ascii_isalnum (c))
    return fail (ps, start, "unknown escape \\%c", c);
  /* Anything else stands for itself: \. \* \/ \- \" ... */
  atom->cp = g_utf8_get_char (start + 1);
  ps->p = g_utf8_next_char (start + 1);
  return TRUE;
}

static gboolean
parse_class_atom (Parser *ps,
                  Atom   *atom)
{
  if (*ps->p == '\\')
    return parse_escape (ps, TRUE, atom);
  atom->set = 0;
  atom->cp = g_utf8_get_char (ps->p);
  ps->p = g_utf8_next_char (ps->p);
  return TRUE;
}

/* One member of a class: an atom, or a range "lo-hi". */
static gboolean
parse_class_item (Parser *ps,
                  GArray *ranges)
{
  const char *start = ps->p;
  Atom lo, hi;

  if (!parse_class_atom (ps, &lo))
    return FALSE;
  if (ps->p[0] != '-' || ps->p[1] == ']' || ps->p[1] == '\0')
    {
      add_atom (ranges, &lo);
      return TRUE;
    }
  ps->p++;
  if (!parse_class_atom (ps, &hi))
    return FALSE;
  if (lo.set != 0 || hi.set != 0)
    {
      /* "[\w-.]": a set cannot bound a range; Annex B and PCRE both read
       * the dash as itself, and nobody could mean anything else. */
      add_atom (ranges, &lo);
      add_range (ranges, '-', '-');
      add_atom (ranges, &hi);
      return TRUE;
    }
  if (lo.cp > hi.cp)
    return fail (ps, start, "range out of order in character class");
  add_range (ranges, lo.cp, hi.cp);
  return TRUE;
}

/* "[...]" or "[^...]"; "[]" matches nothing and "[^]" anything. */
static OwlRegexNode *
parse_class (Parser *ps)
{
  const char *start = ps->p;
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (OwlRegexRange));
  gboolean negate = FALSE;

  ps->p++;
  if (*ps->p == '^')
    {
      negate = TRUE;
      ps->p++;
    }
  while (*ps->p != ']')
    {
      if (*ps->p == '\0')
        {
          fail (ps, start, "missing ] for character class");
          return NULL;
        }
      if (!parse_class_item (ps, ranges))
        return NULL;
    }
  ps->p++;
  return class_node (ps, ranges, negate);
}

/* A class node for \d, \D, \w, \W, \s or \S. */
static OwlRegexNode *
atom_node (Parser     *ps,
           const Atom *atom)
{
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (OwlRegexRange));

  add_atom (ranges, atom);
  return class_node (ps, ranges, FALSE);
}

/* After "(?" at @p: "(?:" or "(?<name>"; lookaround and flags are refused. */
static gboolean
parse_group_kind (Parser     *ps,
                  const char *start)
{
  const char *p = ps->p + 1;
  const char *name;

  if (*p == ':')
    {
      ps->p = p + 1;
      return TRUE;
    }
  if (*p == '=' || *p == '!')
    return fail (ps, start, "lookahead is not supported");
  if (*p != '<')
    return fail (ps, start, "invalid group: only (?: and (?<name> are supported");
  if (p[1] == '=' || p[1] == '!')
    return fail (ps, start, "lookbehind is not supported");

  /* Names only label the group: any identifier-like spelling will do.
   * A name used twice is refused, as before ES2025 (which allows it only
   * in different alternatives). */
  name = ++p;
  while (g_ascii_isalnum (*p) || *p == '_' || *p == '$' || (guchar) *p >= 0x80)
    p++;
  if (p == name || g_ascii_isdigit (*name) || *p != '>')
    return fail (ps, start, "invalid group name");
  if (ps->names == NULL)
    ps->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_add (ps->names, g_strndup (name, p - name)))
    return fail (ps, start, "duplicate group name");
  ps->p = p + 1;
  return TRUE;
}

static OwlRegexNode *
parse_group (Parser *ps)
{
  const char *start = ps->p;
  OwlRegexNode *inner;

  /* The explicit bound keeps "((((...." from exhausting the stack. */
  if (ps->depth >= OWL_REGEX_MAX_DEPTH)
    {
      fail (ps, start, "pattern is too large (groups nest over %d deep)", OWL_REGEX_MAX_DEPTH);
      return NULL;
    }
  ps->p++;
  if (*ps->p == '?' && !parse_group_kind (ps, start))
    return NULL;
  ps->depth++;
  inner = parse_disjunction (ps);
  ps->depth--;
  if (inner == NULL)
    return NULL;
  if (*ps->p != ')')
    {
      fail (ps, start, "missing ) for group");
      return NULL;
    }
  ps->p++;
  return inner;
}

static const char *
read_number (const char *p,
             guint64    *value)
{
  guint64 v = 0;

  /* Saturates below OWL_REGEX_REPEAT_INF; such counts are refused as too large. */
  for (; g_ascii_isdigit (*p); p++)
    v = v >= (G_MAXUINT64 - 10) / 10 ? G_MAXUINT64 - 1 : v * 10 + (guint64) (*p - '0');
  *value = v;
  return p;
}

/* Reads "{n}", "{n,}" or "{n,m}" at @p; anything else is no quantifier
 * (Annex B then reads the "{" as a literal). */
static gboolean
read_braces (const char  *p,
             guint64     *min,
             guint64     *max,
             const char **end)
{
  if (!g_ascii_isdigit (p[1]))
    return FALSE;
  p = read_number (p + 1, min);
  *max = *min;
  if (*p == ',')
    {
      if (g_ascii_isdigit (p[1]))
        p = read_number (p + 1, max);
      else
        {
          *max = OWL_REGEX_REPEAT_INF;
          p++;
        }
    }
  if (*p != '}')
    return FALSE;
  *end = p + 1;
  return TRUE;
}

static OwlRegexNode *
parse_quantifier (Parser       *ps,
                  OwlRegexNode *atom)
{
  const char *end = ps->p + 1;
  guint64 min, max;
  OwlRegexNode *repeat;

  switch (*ps->p)
    {
    case '*': min = 0; max = OWL_REGEX_REPEAT_INF; break;
    case '+': min = 1; max = OWL_REGEX_REPEAT_INF; break;
    case '?': min = 0; max = 1; break;
    case '{':
      if (read_braces (ps->p, &min, &max, &end))
        break;
      G_GNUC_FALLTHROUGH;
    default:
      return atom;
    }
  if (min > max)
    {
      fail (ps, ps->p, "numbers out of order in {} quantifier");
      return NULL;
    }
  ps->p = end;
  /* Lazy or greedy, the same strings match. */
  if (*ps->p == '?')
    ps->p++;

  repeat = node_new (ps, OWL_REGEX_NODE_REPEAT, 0);
  repeat->min = min;
  repeat->max = max;
  g_ptr_array_add (repeat->kids, atom);
  return repeat;
}

static OwlRegexNode *
parse_atom (Parser *ps)
{
  const char *start = ps->p;
  const char *end;
  guint64 min, max;
  Atom atom;

  switch (*ps->p)
    {
    case '(':
      return parse_group (ps);
    case '[':
      return parse_class (ps);
    case '.':
      {
        g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (OwlRegexRange));

        ps->p++;
        add_set (ranges, line_terminator_set, G_N_ELEMENTS (line_terminator_set), FALSE);
        return class_node (ps, ranges, TRUE);
      }
    case '\\':
      if (!parse_escape (ps, FALSE, &atom))
        return NULL;
      if (atom.set == 0)
        return node_new (ps, OWL_REGEX_NODE_CHAR, atom.cp);
      return atom_node (ps, &atom);
    case '*': case '+': case '?':
      fail (ps, start, "nothing to repeat");
      return NULL;
    case '{':
      if (!read_braces (ps->p, &min, &max, &end))
        break;
      fail (ps, start, "nothing to repeat");
      return NULL;
    default:
      break;
    }
  ps->p = g_utf8_next_char (start);
  return node_new (ps, OWL_REGEX_NODE_CHAR, g_utf8_get_char (start));
}

/* A term: an assertion, or an atom with its quantifier. Assertions take no
 * quantifier: the next term then starts with one, "nothing to repeat". */
static OwlRegexNode *
parse_term (Parser *ps)
{
  const char *start = ps->p;
  OwlRegexNode *atom;

  switch (*ps->p)
    {
    case '^':
      ps->p++;
      return node_new (ps, OWL_REGEX_NODE_ASSERT, OWL_REGEX_ASSERT_START);
    case '$':
      ps->p++;
      return node_new (ps, OWL_REGEX_NODE_ASSERT, OWL_REGEX_ASSERT_END);
    case '\\':
      if (ps->p[1] != 'b' && ps->p[1] != 'B')
        break;
      ps->p += 2;
      return node_new (ps, OWL_REGEX_NODE_ASSERT,
                       ps->p[-1] == 'b' ? OWL_REGEX_ASSERT_WORD : OWL_REGEX_ASSERT_NOT_WORD);
    default:
      break;
    }
  atom = parse_atom (ps);
  if (atom != NULL)
    atom = parse_quantifier (ps, atom);
  if (atom != NULL)
    atom->offset = start - ps->pattern;
  return atom;
}

static OwlRegexNode *
parse_alternative (Parser *ps)
{
  OwlRegexNode *cat = node_new (ps, OWL_REGEX_NODE_CAT, 0);

  while (*ps->p != '\0' && *ps->p != '|' && *ps->p != ')')
    {
      OwlRegexNode *term = parse_term (ps);

      if (term == NULL)
        return NULL;
      g_ptr_array_add (cat->kids, term);
    }
  return cat;
}

static OwlRegexNode *
parse_disjunction (Parser *ps)
{
  OwlRegexNode *first = parse_alternative (ps);
  OwlRegexNode *alt;

  if (first == NULL || *ps->p != '|')
    return first;
  alt = node_new (ps, OWL_REGEX_NODE_ALT, 0);
  alt->offset = first->offset;
  g_ptr_array_add (alt->kids, first);
  while (*ps->p == '|')
    {
      OwlRegexNode *next;

      ps->p++;
      next = parse_alternative (ps);
      if (next == NULL)
        return NULL;
      g_ptr_array_add (alt->kids, next);
    }
  return alt;
}

/* @tree is set up either way, for owl_regex_tree_clear(). */
gboolean
owl_regex_parse (const char    *pattern,
                 OwlRegexTree  *tree,
                 GError       **error)
{
  Parser ps = { pattern, pattern, 0, NULL, NULL, NULL, error };
  const char *bad;

  tree->root = NULL;
  tree->nodes = ps.nodes = g_ptr_array_new_with_free_func (node_free);
  tree->classes = ps.classes = g_array_new (FALSE, FALSE, sizeof (OwlRegexClass));
  g_array_set_clear_func (tree->classes, owl_regex_class_clear);
  if (!g_utf8_validate (pattern, -1, &bad))
    return fail (&ps, bad, "pattern is not valid UTF-8");

  tree->root = parse_disjunction (&ps);
  g_clear_pointer (&ps.names, g_hash_table_unref);
  if (tree->root != NULL && *ps.p == ')')
    {
      tree->root = NULL;
      return fail (&ps, ps.p, "unmatched )");
    }
  return tree->root != NULL;
}

void
owl_regex_tree_clear (OwlRegexTree *tree)
{
  tree->root = NULL;
  g_clear_pointer (&tree->nodes, g_ptr_array_unref);
  g_clear_pointer (&tree->classes, g_array_unref);
}
