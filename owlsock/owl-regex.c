/* owl-regex.c: a linear-time matcher for JSON Schema's "pattern"
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GRegex (PCRE) backtracks: "^(\w+\s?)*$" against 25 'a's and a '!' takes
 * ~320 ms, and while a schema comes from whoever configures the service, the
 * strings it checks come from any client. Here a pattern compiles to an NFA
 * (Thompson's construction) whose threads all advance together over the
 * subject, one code point at a time (Pike's VM, without captures: a schema
 * only asks match or no match, so lazy and greedy quantifiers are the same).
 * A state is never visited twice at one position, so a search costs at most
 * (program size) steps per position, whatever the pattern.
 *
 * The dialect is ECMA-262 without flags, as JSON Schema asks, read over
 * Unicode code points as with the "u" flag (which JSON Schema recommends):
 * "." and "[^a]" take a whole code point, "\u{1F432}" and surrogate pairs
 * name one. Where Annex B (web compatibility) and the "u" flag differ, we
 * take Annex B only where every dialect agrees on the meaning: a "{" that
 * does not start a quantifier, a lone "]" or "}", "\%" or any escaped
 * non-alphanumeric character is literal, and "[\w-.]" holds a literal "-".
 * Escaped letters and digits with no ECMA meaning ("\a", "\z", "\A", "\1")
 * are refused: other dialects give them meanings that would silently differ.
 *
 * Refused when compiling, since they need backtracking or tables we do not
 * carry: backreferences, lookahead and lookbehind, "\p{...}". Counted
 * repetition is expanded, so the program is bounded (OWL_REGEX_MAX_SIZE
 * instructions), and so is the parser's recursion (OWL_REGEX_MAX_DEPTH).
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "owl-regex-private.h"

#define MAX_CODE_POINT 0x10FFFF
#define REPEAT_INF     G_MAXUINT64
#define NO_PC          G_MAXUINT32
/* Programs up to this size search with scratch on the stack (5 KiB). */
#define SMALL_PROGRAM  256

typedef enum
{
  OP_CHAR,    /* a: the code point */
  OP_CLASS,   /* a: index into classes */
  OP_SPLIT,   /* go on at a and at b */
  OP_JMP,     /* go on at a */
  OP_BOL,     /* ^ */
  OP_EOL,     /* $ */
  OP_WORDB,   /* \b */
  OP_NWORDB,  /* \B */
  OP_MATCH,
} OpCode;

typedef struct
{
  guint32 op;
  guint32 a;
  guint32 b;
} Inst;

typedef struct
{
  guint32 lo;
  guint32 hi;
} Range;

/* A character class: ASCII in a bitmap, the rest as sorted disjoint ranges
 * searched by bisection. */
typedef struct
{
  guint32  ascii[4];
  Range   *ranges;
  guint    n_ranges;
} CharClass;

struct _OwlRegex
{
  char      *pattern;
  Inst      *prog;
  guint      n_prog;
  CharClass *classes;
  guint      n_classes;
  gboolean   anchored;    /* every path starts with ^ */
  gboolean   use_first;   /* a match starts on a byte of first[] */
  int        first_byte;  /* first[]'s only byte, or -1 */
  guint32    first[8];
};

static const Range digit_set[] = { { '0', '9' } };
static const Range word_set[] = { { '0', '9' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' } };
/* ECMA-262 WhiteSpace and LineTerminator (Zs as of Unicode 15). */
static const Range space_set[] = {
  { 0x09, 0x0D }, { 0x20, 0x20 }, { 0xA0, 0xA0 }, { 0x1680, 0x1680 },
  { 0x2000, 0x200A }, { 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x205F },
  { 0x3000, 0x3000 }, { 0xFEFF, 0xFEFF },
};
static const Range line_terminator_set[] = { { 0x0A, 0x0A }, { 0x0D, 0x0D }, { 0x2028, 0x2029 } };

/* ------------------------------------------------------------------------ */
/* Parsing into a tree; counted repetition stays a node until emission.      */

typedef enum
{
  NODE_CHAR,
  NODE_CLASS,
  NODE_ASSERT,   /* value: OP_BOL, OP_EOL, OP_WORDB or OP_NWORDB */
  NODE_CAT,
  NODE_ALT,
  NODE_REPEAT,
} NodeType;

typedef struct
{
  NodeType   type;
  guint32    value;   /* code point, class index or assertion */
  guint64    min;
  guint64    max;
  guint64    size;    /* instructions this node emits, exactly */
  GPtrArray *kids;
} Node;

typedef struct
{
  const char  *pattern;
  const char  *p;
  guint        depth;
  GPtrArray   *nodes;     /* owns every node */
  GArray      *classes;   /* CharClass */
  GHashTable  *names;     /* group names seen, or NULL */
  GError     **error;
} Parser;

/* A parsed escape: a code point, or one of the sets \d \D \w \W \s \S. */
typedef struct
{
  guint32 cp;
  char    set;
} Atom;

static Node *parse_disjunction (Parser *ps);

G_GNUC_PRINTF (3, 4)
static gpointer
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
  return NULL;
}

static void
node_free (gpointer data)
{
  Node *node = data;

  g_clear_pointer (&node->kids, g_ptr_array_unref);
  g_free (node);
}

static Node *
node_new (Parser   *ps,
          NodeType  type,
          guint32   value)
{
  Node *node = g_new0 (Node, 1);

  node->type = type;
  node->value = value;
  node->size = 1;
  if (type == NODE_CAT || type == NODE_ALT || type == NODE_REPEAT)
    {
      node->kids = g_ptr_array_new ();
      node->size = 0;
    }
  g_ptr_array_add (ps->nodes, node);
  return node;
}

/* Sizes are checked as the tree grows, so a pattern too large for the
 * program is refused where it outgrows it, before anything is expanded. */
static gboolean
check_size (Parser     *ps,
            const char *at,
            guint64     size)
{
  /* One more for the final MATCH. */
  if (size < OWL_REGEX_MAX_SIZE)
    return TRUE;
  fail (ps, at, "pattern is too large (over %d instructions once compiled)", OWL_REGEX_MAX_SIZE);
  return FALSE;
}

static void
add_range (GArray  *ranges,
           guint32  lo,
           guint32  hi)
{
  Range r = { lo, hi };

  g_array_append_val (ranges, r);
}

/* Adds @set, or everything outside it; @set is sorted and disjoint. */
static void
add_set (GArray      *ranges,
         const Range *set,
         guint        n,
         gboolean     negate)
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
  if (negate && next <= MAX_CODE_POINT)
    add_range (ranges, next, MAX_CODE_POINT);
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
  const Range *x = a;
  const Range *y = b;

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
      Range r = g_array_index (ranges, Range, i);
      Range *last = n > 0 ? &g_array_index (ranges, Range, n - 1) : NULL;

      if (last != NULL && r.lo <= last->hi + 1)
        last->hi = MAX (last->hi, r.hi);
      else
        g_array_index (ranges, Range, n++) = r;
    }
  g_array_set_size (ranges, n);
}

static void
char_class_clear (gpointer data)
{
  CharClass *cls = data;

  g_clear_pointer (&cls->ranges, g_free);
}

/* A class node for the code points in @ranges (sorted in place), or for
 * all the others when @negate. */
static Node *
class_node (Parser   *ps,
            GArray   *ranges,
            gboolean  negate)
{
  CharClass cls = { { 0, }, NULL, 0 };
  g_autoptr(GArray) outside = NULL;
  g_autoptr(GArray) wide = g_array_new (FALSE, FALSE, sizeof (Range));

  normalize_ranges (ranges);
  if (negate)
    {
      outside = g_array_new (FALSE, FALSE, sizeof (Range));
      add_set (outside, (const Range *) (gpointer) ranges->data, ranges->len, TRUE);
      ranges = outside;
    }
  for (guint i = 0; i < ranges->len; i++)
    {
      Range r = g_array_index (ranges, Range, i);

      for (guint32 c = r.lo; c <= MIN (r.hi, 0x7F); c++)
        cls.ascii[c >> 5] |= 1u << (c & 31);
      if (r.hi >= 0x80)
        add_range (wide, MAX (r.lo, 0x80), r.hi);
    }
  cls.n_ranges = wide->len;
  cls.ranges = g_array_steal (wide, NULL);
  g_array_append_val (ps->classes, cls);
  return node_new (ps, NODE_CLASS, ps->classes->len - 1);
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

      for (; g_ascii_isxdigit (*p) && v <= MAX_CODE_POINT; p++)
        v = v << 4 | (guint32) g_ascii_xdigit_value (*p);
      if (p == ps->p + 1 || *p != '}' || v > MAX_CODE_POINT)
        return fail (ps, start, "invalid \\u{...} escape") != NULL;
      atom->cp = v;
      ps->p = p + 1;
      return TRUE;
    }
  if (!read_hex (ps->p, 4, &atom->cp))
    return fail (ps, start, "\\u must be followed by four hex digits or {...}") != NULL;
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

/* Reads the escape at ps->p (on the backslash). \b and \B outside a class
 * are assertions, read by parse_term(); inside one, \b is U+0008. */
static gboolean
parse_escape (Parser   *ps,
              gboolean  in_class,
              Atom     *atom)
{
  const char *start = ps->p;
  char c = *++ps->p;

  atom->set = 0;
  if (c == '\0')
    return fail (ps, start, "\\ at end of pattern") != NULL;
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
    case 'b': atom->cp = 0x08; return in_class;
    case '0':
      atom->cp = 0;
      return !g_ascii_isdigit (*ps->p) || fail (ps, start, "octal escapes are not supported") != NULL;
    case 'c':
      if (!g_ascii_isalpha (*ps->p))
        return fail (ps, start, "\\c must be followed by an ASCII letter") != NULL;
      atom->cp = (guchar) *ps->p++ % 32;
      return TRUE;
    case 'x':
      if (!read_hex (ps->p, 2, &atom->cp))
        return fail (ps, start, "\\x must be followed by two hex digits") != NULL;
      ps->p += 2;
      return TRUE;
    case 'u':
      return parse_unicode_escape (ps, start, atom);
    case 'p': case 'P':
      return fail (ps, start, "Unicode property escapes are not supported") != NULL;
    case 'k':
      return fail (ps, start, "backreferences are not supported") != NULL;
    default:
      break;
    }
  if (g_ascii_isdigit (c) && !in_class)
    return fail (ps, start, "backreferences are not supported") != NULL;
  if (g_ascii_isalnum (c))
    return fail (ps, start, "unknown escape \\%c", c) != NULL;
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
    return fail (ps, start, "range out of order in character class") != NULL;
  add_range (ranges, lo.cp, hi.cp);
  return TRUE;
}

/* "[...]" or "[^...]"; "[]" matches nothing and "[^]" anything. */
static Node *
parse_class (Parser *ps)
{
  const char *start = ps->p;
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (Range));
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
        return fail (ps, start, "missing ] for character class");
      if (!parse_class_item (ps, ranges))
        return NULL;
    }
  ps->p++;
  return class_node (ps, ranges, negate);
}

/* A class node for \d, \D, \w, \W, \s or \S. */
static Node *
atom_node (Parser     *ps,
           const Atom *atom)
{
  g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (Range));

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
    return fail (ps, start, "lookahead is not supported") != NULL;
  if (*p != '<')
    return fail (ps, start, "invalid group: only (?: and (?<name> are supported") != NULL;
  if (p[1] == '=' || p[1] == '!')
    return fail (ps, start, "lookbehind is not supported") != NULL;

  /* Names only label the group: any identifier-like spelling will do.
   * A name used twice is refused, as before ES2025 (which allows it only
   * in different alternatives). */
  name = ++p;
  while (g_ascii_isalnum (*p) || *p == '_' || *p == '$' || (guchar) *p >= 0x80)
    p++;
  if (p == name || g_ascii_isdigit (*name) || *p != '>')
    return fail (ps, start, "invalid group name") != NULL;
  if (ps->names == NULL)
    ps->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_add (ps->names, g_strndup (name, p - name)))
    return fail (ps, start, "duplicate group name") != NULL;
  ps->p = p + 1;
  return TRUE;
}

static Node *
parse_group (Parser *ps)
{
  const char *start = ps->p;
  Node *inner;

  /* The explicit bound keeps "((((...." from exhausting the stack. */
  if (ps->depth >= OWL_REGEX_MAX_DEPTH)
    return fail (ps, start, "pattern is too large (groups nest over %d deep)", OWL_REGEX_MAX_DEPTH);
  ps->p++;
  if (*ps->p == '?' && !parse_group_kind (ps, start))
    return NULL;
  ps->depth++;
  inner = parse_disjunction (ps);
  ps->depth--;
  if (inner == NULL)
    return NULL;
  if (*ps->p != ')')
    return fail (ps, start, "missing ) for group");
  ps->p++;
  return inner;
}

static const char *
read_number (const char *p,
             guint64    *value)
{
  guint64 v = 0;

  /* Saturates below REPEAT_INF; such counts are refused as too large. */
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
          *max = REPEAT_INF;
          p++;
        }
    }
  if (*p != '}')
    return FALSE;
  *end = p + 1;
  return TRUE;
}

static guint64
repeat_size (guint64 s,
             guint64 min,
             guint64 max)
{
  if (s == 0)
    return 0;
  if (min >= OWL_REGEX_MAX_SIZE || (max != REPEAT_INF && max - min >= OWL_REGEX_MAX_SIZE))
    return OWL_REGEX_MAX_SIZE;
  if (max == REPEAT_INF)
    return min == 0 ? s + 2 : min * s + 1;
  return min * s + (max - min) * (s + 1);
}

static Node *
parse_quantifier (Parser     *ps,
                  const char *start,
                  Node       *atom)
{
  const char *end = ps->p + 1;
  guint64 min, max;
  Node *repeat;

  switch (*ps->p)
    {
    case '*': min = 0; max = REPEAT_INF; break;
    case '+': min = 1; max = REPEAT_INF; break;
    case '?': min = 0; max = 1; break;
    case '{':
      if (read_braces (ps->p, &min, &max, &end))
        break;
      G_GNUC_FALLTHROUGH;
    default:
      return atom;
    }
  if (min > max)
    return fail (ps, ps->p, "numbers out of order in {} quantifier");
  ps->p = end;
  /* Lazy or greedy, the same strings match. */
  if (*ps->p == '?')
    ps->p++;

  repeat = node_new (ps, NODE_REPEAT, 0);
  repeat->min = min;
  repeat->max = max;
  repeat->size = repeat_size (atom->size, min, max);
  g_ptr_array_add (repeat->kids, atom);
  return check_size (ps, start, repeat->size) ? repeat : NULL;
}

static Node *
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
        g_autoptr(GArray) ranges = g_array_new (FALSE, FALSE, sizeof (Range));

        ps->p++;
        add_set (ranges, line_terminator_set, G_N_ELEMENTS (line_terminator_set), FALSE);
        return class_node (ps, ranges, TRUE);
      }
    case '\\':
      if (!parse_escape (ps, FALSE, &atom))
        return NULL;
      if (atom.set == 0)
        return node_new (ps, NODE_CHAR, atom.cp);
      return atom_node (ps, &atom);
    case '*': case '+': case '?':
      return fail (ps, start, "nothing to repeat");
    case '{':
      if (read_braces (ps->p, &min, &max, &end))
        return fail (ps, start, "nothing to repeat");
      break;
    default:
      break;
    }
  ps->p = g_utf8_next_char (start);
  return node_new (ps, NODE_CHAR, g_utf8_get_char (start));
}

/* A term: an assertion, or an atom with its quantifier. Assertions take no
 * quantifier: the next term then starts with one, "nothing to repeat". */
static Node *
parse_term (Parser *ps)
{
  const char *start = ps->p;
  Node *atom;

  switch (*ps->p)
    {
    case '^':
      ps->p++;
      return node_new (ps, NODE_ASSERT, OP_BOL);
    case '$':
      ps->p++;
      return node_new (ps, NODE_ASSERT, OP_EOL);
    case '\\':
      if (ps->p[1] != 'b' && ps->p[1] != 'B')
        break;
      ps->p += 2;
      return node_new (ps, NODE_ASSERT, ps->p[-1] == 'b' ? OP_WORDB : OP_NWORDB);
    default:
      break;
    }
  atom = parse_atom (ps);
  return atom != NULL ? parse_quantifier (ps, start, atom) : NULL;
}

static Node *
parse_alternative (Parser *ps)
{
  Node *cat = node_new (ps, NODE_CAT, 0);

  while (*ps->p != '\0' && *ps->p != '|' && *ps->p != ')')
    {
      const char *start = ps->p;
      Node *term = parse_term (ps);

      if (term == NULL)
        return NULL;
      g_ptr_array_add (cat->kids, term);
      cat->size += term->size;
      if (!check_size (ps, start, cat->size))
        return NULL;
    }
  return cat;
}

static Node *
parse_disjunction (Parser *ps)
{
  Node *first = parse_alternative (ps);
  Node *alt;

  if (first == NULL || *ps->p != '|')
    return first;
  alt = node_new (ps, NODE_ALT, 0);
  g_ptr_array_add (alt->kids, first);
  alt->size = first->size;
  while (*ps->p == '|')
    {
      const char *start = ++ps->p;
      Node *next = parse_alternative (ps);

      if (next == NULL)
        return NULL;
      g_ptr_array_add (alt->kids, next);
      alt->size += next->size + 2;   /* a SPLIT and a JMP per extra branch */
      if (!check_size (ps, start, alt->size))
        return NULL;
    }
  return alt;
}

/* ------------------------------------------------------------------------ */
/* Emission: the program, sized exactly by the tree.                         */

static guint32
emit_inst (OwlRegex *regex,
           guint32   op,
           guint32   a,
           guint32   b)
{
  guint32 pc = regex->n_prog++;

  regex->prog[pc] = (Inst) { op, a, b };
  return pc;
}

static void emit_node (OwlRegex   *regex,
                       const Node *node);

/* e1 | e2 | e3: SPLIT L1 L2; L1: e1; JMP end; L2: SPLIT L2' L3; ... e3; end. */
static void
emit_alt (OwlRegex   *regex,
          const Node *node)
{
  guint32 pending = NO_PC;   /* the JMPs to patch, chained through .a */

  for (guint i = 0; i < node->kids->len; i++)
    {
      gboolean last = i + 1 == node->kids->len;
      guint32 split = 0;

      if (!last)
        split = emit_inst (regex, OP_SPLIT, regex->n_prog + 1, 0);
      emit_node (regex, node->kids->pdata[i]);
      if (!last)
        {
          pending = emit_inst (regex, OP_JMP, pending, 0);
          regex->prog[split].b = regex->n_prog;
        }
    }
  while (pending != NO_PC)
    {
      guint32 next = regex->prog[pending].a;

      regex->prog[pending].a = regex->n_prog;
      pending = next;
    }
}

/* e{n,m} is n copies of e, then m-n nested optional copies that all skip
 * to the end: once one is skipped, no thread lingers in the rest. e{n,}
 * loops on its last copy. */
static void
emit_repeat (OwlRegex   *regex,
             const Node *node)
{
  const Node *kid = node->kids->pdata[0];
  guint64 copies = node->min;
  guint32 start;

  if (kid->size == 0)
    return;
  if (node->max == REPEAT_INF && copies > 0)
    copies--;
  for (guint64 i = 0; i < copies; i++)
    emit_node (regex, kid);

  start = regex->n_prog;
  if (node->max == REPEAT_INF && node->min == 0)
    {
      emit_inst (regex, OP_SPLIT, start + 1, 0);
      emit_node (regex, kid);
      emit_inst (regex, OP_JMP, start, 0);
      regex->prog[start].b = regex->n_prog;
    }
  else if (node->max == REPEAT_INF)
    {
      emit_node (regex, kid);
      emit_inst (regex, OP_SPLIT, start, regex->n_prog + 1);
    }
  else
    {
      for (guint64 i = node->min; i < node->max; i++)
        {
          emit_inst (regex, OP_SPLIT, regex->n_prog + 1, 0);
          emit_node (regex, kid);
        }
      for (guint32 pc = start; pc < regex->n_prog; pc += (guint32) kid->size + 1)
        regex->prog[pc].b = regex->n_prog;
    }
}

static void
emit_node (OwlRegex   *regex,
           const Node *node)
{
  switch (node->type)
    {
    case NODE_CHAR:
      emit_inst (regex, OP_CHAR, node->value, 0);
      break;
    case NODE_CLASS:
      emit_inst (regex, OP_CLASS, node->value, 0);
      break;
    case NODE_ASSERT:
      emit_inst (regex, node->value, 0, 0);
      break;
    case NODE_CAT:
      for (guint i = 0; i < node->kids->len; i++)
        emit_node (regex, node->kids->pdata[i]);
      break;
    case NODE_ALT:
      emit_alt (regex, node);
      break;
    case NODE_REPEAT:
      emit_repeat (regex, node);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ------------------------------------------------------------------------ */
/* What a match can start with, for the search's fast paths.                 */

static void
add_lead_bytes (guint32 first[8],
                guint32 lo,
                guint32 hi)
{
  char lo_utf8[8], hi_utf8[8];

  g_unichar_to_utf8 (lo, lo_utf8);
  g_unichar_to_utf8 (hi, hi_utf8);
  /* Lead bytes grow with the code point, so the range's lie between. */
  for (guint b = (guchar) lo_utf8[0]; b <= (guchar) hi_utf8[0]; b++)
    first[b >> 5] |= 1u << (b & 31);
  /* Invalid subject bytes read as U+FFFD: let them through too. */
  if (lo <= 0xFFFD && hi >= 0xFFFD)
    memset (first + 4, 0xff, 4 * sizeof (guint32));
}

static void
add_class_lead_bytes (guint32          first[8],
                      const CharClass *cls)
{
  for (guint i = 0; i < 4; i++)
    first[i] |= cls->ascii[i];
  for (guint i = 0; i < cls->n_ranges; i++)
    add_lead_bytes (first, cls->ranges[i].lo, cls->ranges[i].hi);
}

/* Follows the empty transitions from the start (through ^ only when
 * @through_bol, through the other assertions always). Returns FALSE if that
 * reaches MATCH; else @first holds the lead bytes the reachable consuming
 * instructions accept. */
static gboolean
scan_start (const OwlRegex *regex,
            gboolean        through_bol,
            guint32         first[8])
{
  g_autofree guint32 *stack = g_new (guint32, regex->n_prog);
  g_autofree guint8 *seen = g_new0 (guint8, regex->n_prog);
  guint n = 0;

  memset (first, 0, 8 * sizeof (guint32));
  stack[n++] = 0;
  seen[0] = TRUE;
  while (n > 0)
    {
      guint32 pc = stack[--n];
      const Inst *inst = &regex->prog[pc];
      guint32 next[2] = { pc + 1, NO_PC };

      switch (inst->op)
        {
        case OP_MATCH:
          return FALSE;
        case OP_CHAR:
          add_lead_bytes (first, inst->a, inst->a);
          continue;
        case OP_CLASS:
          add_class_lead_bytes (first, &regex->classes[inst->a]);
          continue;
        case OP_BOL:
          if (!through_bol)
            continue;
          break;
        case OP_JMP:
          next[0] = inst->a;
          break;
        case OP_SPLIT:
          next[0] = inst->a;
          next[1] = inst->b;
          break;
        default:
          break;
        }
      for (guint i = 0; i < 2; i++)
        if (next[i] != NO_PC && !seen[next[i]])
          {
            seen[next[i]] = TRUE;
            stack[n++] = next[i];
          }
    }
  return TRUE;
}

static void
analyze_start (OwlRegex *regex)
{
  guint32 first[8];
  guint n_first = 0;

  /* Anchored: no path reaches input or MATCH without passing ^. */
  regex->anchored = scan_start (regex, FALSE, first);
  for (guint i = 0; i < 8; i++)
    regex->anchored = regex->anchored && first[i] == 0;

  regex->use_first = scan_start (regex, TRUE, regex->first);
  regex->first_byte = -1;
  for (guint b = 0; b < 256; b++)
    if (regex->first[b >> 5] & (1u << (b & 31)))
      {
        n_first++;
        regex->first_byte = (int) b;
      }
  if (n_first != 1)
    regex->first_byte = -1;
}

/* ------------------------------------------------------------------------ */
/* The search: all threads in lock step, a state at most once per position. */

typedef struct
{
  guint32 *dense;
  guint32 *sparse;
  guint    n;
} StateSet;

typedef struct
{
  const OwlRegex *regex;
  const guchar   *subject;
  gsize           len;
  gint64          left;    /* budget */
  guint32        *stack;
} Search;

static inline gboolean
is_word_byte (guchar c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* \b looks at bytes: only ASCII is a word character, and no byte of a
 * multi-byte sequence is ASCII. */
static inline gboolean
at_word_boundary (const Search *s,
                  gsize         pos)
{
  gboolean before = pos > 0 && is_word_byte (s->subject[pos - 1]);
  gboolean after = pos < s->len && is_word_byte (s->subject[pos]);

  return before != after;
}

static inline gboolean
class_has (const CharClass *cls,
           guint32          c)
{
  guint lo = 0;
  guint hi = cls->n_ranges;

  if (c < 0x80)
    return (cls->ascii[c >> 5] >> (c & 31)) & 1;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (c < cls->ranges[mid].lo)
        hi = mid;
      else if (c > cls->ranges[mid].hi)
        lo = mid + 1;
      else
        return TRUE;
    }
  return FALSE;
}

/* Decodes one code point of at most @left bytes; an invalid or truncated
 * sequence reads as U+FFFD, one byte long. */
static inline guint32
decode (const guchar *p,
        gsize         left,
        guint        *len)
{
  guint32 c = p[0];

  *len = 1;
  if (c < 0x80)
    return c;
  if (c >= 0xC2 && c <= 0xDF && left >= 2 && (p[1] & 0xC0) == 0x80)
    {
      *len = 2;
      return (c & 0x1F) << 6 | (p[1] & 0x3F);
    }
  if (c >= 0xE0 && c <= 0xEF && left >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
    {
      c = (c & 0x0F) << 12 | (guint32) (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
      if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF))
        {
          *len = 3;
          return c;
        }
    }
  else if (c >= 0xF0 && c <= 0xF4 && left >= 4 && (p[1] & 0xC0) == 0x80 &&
           (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80)
    {
      c = (c & 0x07) << 18 | (guint32) (p[1] & 0x3F) << 12 |
          (guint32) (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
      if (c >= 0x10000 && c <= MAX_CODE_POINT)
        {
          *len = 4;
          return c;
        }
    }
  return 0xFFFD;
}

/* Adds @pc to @set and to the closure's stack, paying one unit. */
static inline gboolean
visit (Search   *s,
       StateSet *set,
       guint32   pc,
       guint    *n)
{
  guint32 i = set->sparse[pc];

  if (i < set->n && set->dense[i] == pc)
    return TRUE;
  if (s->left == 0)
    return FALSE;
  s->left--;
  set->sparse[pc] = set->n;
  set->dense[set->n++] = pc;
  s->stack[(*n)++] = pc;
  return TRUE;
}

/* Adds @pc and everything it reaches at @pos without consuming input. */
static OwlRegexResult
add_closure (Search   *s,
             StateSet *set,
             guint32   pc,
             gsize     pos)
{
  const Inst *prog = s->regex->prog;
  gboolean ok = TRUE;
  guint n = 0;

  ok = visit (s, set, pc, &n);
  while (ok && n > 0)
    {
      const Inst *inst = &prog[pc = s->stack[--n]];

      switch (inst->op)
        {
        case OP_MATCH:
          return OWL_REGEX_MATCH;
        case OP_JMP:
          ok = visit (s, set, inst->a, &n);
          break;
        case OP_SPLIT:
          ok = visit (s, set, inst->a, &n) && visit (s, set, inst->b, &n);
          break;
        case OP_BOL:
          ok = pos != 0 || visit (s, set, pc + 1, &n);
          break;
        case OP_EOL:
          ok = pos != s->len || visit (s, set, pc + 1, &n);
          break;
        case OP_WORDB:
          ok = !at_word_boundary (s, pos) || visit (s, set, pc + 1, &n);
          break;
        case OP_NWORDB:
          ok = at_word_boundary (s, pos) || visit (s, set, pc + 1, &n);
          break;
        default:
          break;
        }
    }
  return ok ? OWL_REGEX_NO_MATCH : OWL_REGEX_TOO_COSTLY;
}

/* With no thread alive, moves to the next byte a match could start on,
 * paying a unit per byte passed over; leaves the last byte it could pay
 * for when the budget ends first. */
static gsize
skip_to_start (Search *s,
               gsize   pos)
{
  const OwlRegex *regex = s->regex;
  gsize stop = pos + (gsize) MIN ((guint64) s->left, (guint64) (s->len - pos));
  gsize from = pos;

  if (regex->first_byte >= 0)
    {
      const guchar *hit = memchr (s->subject + pos, regex->first_byte, stop - pos);

      pos = hit != NULL ? (gsize) (hit - s->subject) : stop;
    }
  else
    while (pos < stop && !(regex->first[s->subject[pos] >> 5] & (1u << (s->subject[pos] & 31))))
      pos++;
  s->left -= (gint64) (pos - from);
  return pos;
}

/* Moves the threads of @cur over the code point at @pos into @next. */
static OwlRegexResult
step (Search   *s,
      StateSet *cur,
      StateSet *next,
      gsize     pos,
      guint    *len)
{
  const OwlRegex *regex = s->regex;
  guint32 c = decode (s->subject + pos, s->len - pos, len);

  next->n = 0;
  for (guint i = 0; i < cur->n; i++)
    {
      const Inst *inst = &regex->prog[cur->dense[i]];
      OwlRegexResult result;

      if (inst->op == OP_CHAR ? inst->a != c :
          inst->op != OP_CLASS || !class_has (&regex->classes[inst->a], c))
        continue;
      result = add_closure (s, next, cur->dense[i] + 1, pos + *len);
      if (result != OWL_REGEX_NO_MATCH)
        return result;
    }
  return OWL_REGEX_NO_MATCH;
}

static OwlRegexResult
run (Search   *s,
     StateSet *cur,
     StateSet *next)
{
  const OwlRegex *regex = s->regex;
  gsize pos = 0;

  for (;;)
    {
      OwlRegexResult result;
      StateSet *tmp;
      guint len;

      if (cur->n == 0 && regex->anchored && pos > 0)
        return OWL_REGEX_NO_MATCH;
      if (cur->n == 0 && regex->use_first && pos < s->len)
        pos = skip_to_start (s, pos);
      /* Unanchored: a new thread starts at every position. */
      if (!regex->anchored || pos == 0)
        {
          result = add_closure (s, cur, 0, pos);
          if (result != OWL_REGEX_NO_MATCH)
            return result;
        }
      if (pos == s->len)
        return OWL_REGEX_NO_MATCH;
      result = step (s, cur, next, pos, &len);
      if (result != OWL_REGEX_NO_MATCH)
        return result;
      pos += len;
      tmp = cur;
      cur = next;
      next = tmp;
    }
}

/* ------------------------------------------------------------------------ */

/**
 * owl_regex_new:
 * @pattern: an ECMA-262 regular expression, in UTF-8
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): the compiled pattern, or %NULL with
 *   an %OWL_ERROR_INVALID_ARGUMENT error naming the problem and its offset
 */
OwlRegex *
owl_regex_new (const char  *pattern,
               GError     **error)
{
  Parser ps = { pattern, pattern, 0, NULL, NULL, NULL, error };
  OwlRegex *regex = NULL;
  const char *bad;
  Node *root;

  g_return_val_if_fail (pattern != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_utf8_validate (pattern, -1, &bad))
    return fail (&ps, bad, "pattern is not valid UTF-8");

  ps.nodes = g_ptr_array_new_with_free_func (node_free);
  ps.classes = g_array_new (FALSE, FALSE, sizeof (CharClass));
  g_array_set_clear_func (ps.classes, char_class_clear);
  root = parse_disjunction (&ps);
  if (root != NULL && *ps.p == ')')
    root = fail (&ps, ps.p, "unmatched )");

  if (root != NULL)
    {
      regex = g_new0 (OwlRegex, 1);
      regex->pattern = g_strdup (pattern);
      regex->prog = g_new (Inst, root->size + 1);
      emit_node (regex, root);
      emit_inst (regex, OP_MATCH, 0, 0);
      g_assert (regex->n_prog == root->size + 1);
      regex->n_classes = ps.classes->len;
      regex->classes = g_array_steal (ps.classes, NULL);
      analyze_start (regex);
    }
  g_ptr_array_unref (ps.nodes);
  g_array_unref (ps.classes);
  g_clear_pointer (&ps.names, g_hash_table_unref);
  return regex;
}

void
owl_regex_free (OwlRegex *regex)
{
  if (regex == NULL)
    return;
  for (guint i = 0; i < regex->n_classes; i++)
    char_class_clear (&regex->classes[i]);
  g_free (regex->classes);
  g_free (regex->prog);
  g_free (regex->pattern);
  g_free (regex);
}

const char *
owl_regex_get_pattern (OwlRegex *regex)
{
  g_return_val_if_fail (regex != NULL, NULL);

  return regex->pattern;
}

guint
owl_regex_get_size (OwlRegex *regex)
{
  g_return_val_if_fail (regex != NULL, 0);

  return regex->n_prog;
}

OwlRegexResult
owl_regex_search (OwlRegex   *regex,
                  const char *subject,
                  gsize       len,
                  gint64     *budget)
{
  /* Scratch: two state sets (dense + sparse) and the closure's stack. */
  guint32 small[5 * SMALL_PROGRAM];
  g_autofree guint32 *big = NULL;
  guint32 *scratch = small;
  StateSet sets[2];
  Search s;
  OwlRegexResult result;
  guint n;

  g_return_val_if_fail (regex != NULL, OWL_REGEX_NO_MATCH);
  g_return_val_if_fail (subject != NULL || len == 0, OWL_REGEX_NO_MATCH);

  n = regex->n_prog;
  if (n > SMALL_PROGRAM)
    scratch = big = g_new (guint32, 5 * (gsize) n);
  /* A sparse set works on uninitialized memory, but sanitizers (and the
   * letter of C) prefer it zeroed; that costs less than one position. */
  memset (scratch, 0, 2 * n * sizeof (guint32));
  sets[0] = (StateSet) { scratch + 2 * n, scratch, 0 };
  sets[1] = (StateSet) { scratch + 3 * n, scratch + n, 0 };
  s = (Search) { regex, (const guchar *) (subject != NULL ? subject : ""), len,
                 budget != NULL ? MAX (*budget, 0) : G_MAXINT64, scratch + 4 * n };

  result = run (&s, &sets[0], &sets[1]);
  if (budget != NULL)
    *budget = s.left;
  return result;
}
