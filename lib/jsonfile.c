/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfile.h"
#include "util.h"
#include "values.h"

/* A cursor over text that json-c has already accepted, so it needs no error handling. */
struct jcursor {
        const char *text;
        size_t pos;
};

static void skip_space(struct jcursor *j) {
        while (strchr(" \t\r\n", j->text[j->pos]) && j->text[j->pos])
                j->pos++;
}

static void skip_string(struct jcursor *j) {
        for (j->pos++; j->text[j->pos] && j->text[j->pos] != '"'; j->pos++)
                if (j->text[j->pos] == '\\')
                        j->pos++;
        j->pos++;
}

static void skip_value(struct jcursor *j) {
        int depth = 0;

        skip_space(j);
        if (j->text[j->pos] == '"') {
                skip_string(j);
                return;
        }
        if (j->text[j->pos] != '{' && j->text[j->pos] != '[') {
                while (!strchr(",}] \t\r\n", j->text[j->pos]))
                        j->pos++;
                return;
        }
        do {
                char ch = j->text[j->pos];

                if (ch == '"') {
                        skip_string(j);
                        continue;
                }
                if (ch == '{' || ch == '[')
                        depth++;
                else if (ch == '}' || ch == ']')
                        depth--;
                j->pos++;
        } while (depth > 0 && j->text[j->pos]);
}

static unsigned hex_value(const char *s) {
        char digits[5] = { s[0], s[1], s[2], s[3], '\0' };

        return (unsigned) strtoul(digits, NULL, 16);
}

static size_t put_utf8(char *out, unsigned cp) {
        if (cp < 0x80)
                return out[0] = (char) cp, 1;
        if (cp < 0x800)
                return out[0] = (char) (0xc0 | cp >> 6), out[1] = (char) (0x80 | (cp & 0x3f)), 2;
        if (cp < 0x10000)
                return out[0] = (char) (0xe0 | cp >> 12), out[1] = (char) (0x80 | ((cp >> 6) & 0x3f)),
                       out[2] = (char) (0x80 | (cp & 0x3f)), 3;
        return out[0] = (char) (0xf0 | cp >> 18), out[1] = (char) (0x80 | ((cp >> 12) & 0x3f)),
               out[2] = (char) (0x80 | ((cp >> 6) & 0x3f)), out[3] = (char) (0x80 | (cp & 0x3f)), 4;
}

/* A high surrogate followed by a low one is one code point; a lone surrogate becomes U+FFFD,
 * as json-c decodes it, so that both see the same key. */
static unsigned combine_surrogates(unsigned cp, const char **p) {
        const char *next = *p + 1;
        unsigned low;

        if (cp >= 0xdc00 && cp <= 0xdfff)
                return 0xfffd;
        if (cp < 0xd800 || cp > 0xdbff)
                return cp;
        if (next[0] != '\\' || next[1] != 'u')
                return 0xfffd;
        low = hex_value(next + 2);
        if (low < 0xdc00 || low > 0xdfff)
                return 0xfffd;
        *p += 6;
        return 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
}

/* Decodes the (valid) JSON string at text into a malloc'd buffer; *ret_len counts NULs too. */
static char *decode_string(const char *text, size_t *ret_len) {
        struct jcursor raw = { .text = text };
        const char *p = text + 1;
        char *out, *o;

        skip_string(&raw); /* decoded bytes never outnumber the raw ones */
        out = o = malloc(raw.pos + 1);

        if (!out)
                return NULL;
        for (; *p != '"'; p++) {
                unsigned cp;

                if (*p != '\\') {
                        *o++ = *p;
                        continue;
                }
                switch (*++p) {
                case 'b': *o++ = '\b'; break;
                case 'f': *o++ = '\f'; break;
                case 'n': *o++ = '\n'; break;
                case 'r': *o++ = '\r'; break;
                case 't': *o++ = '\t'; break;
                case 'u':
                        cp = hex_value(p + 1);
                        p += 4;
                        o += put_utf8(o, combine_surrogates(cp, &p));
                        break;
                default: *o++ = *p; break;
                }
        }
        *o = '\0';
        *ret_len = (size_t) (o - out);
        return out;
}

/* Compares the key at the cursor (a string token) with a JSON pointer token of length n. */
static bool key_equals(const struct jcursor *j, const char *token, size_t n) {
        _cleanup_free_ char *key = NULL;
        size_t key_len = 0, k = 0;

        if (!(key = decode_string(j->text + j->pos, &key_len)))
                return false;
        for (size_t i = 0; i < n; i++, k++) {
                char want = token[i];

                if (want == '~' && i + 1 < n)
                        want = token[++i] == '1' ? '/' : '~';
                if (k >= key_len || key[k] != want)
                        return false;
        }
        return k == key_len;
}

/* Moves the cursor to the member `token` of the object, or item `token` of the array, at the cursor. */
static bool step_into(struct jcursor *j, const char *token, size_t n, size_t *ret_item_pos) {
        bool is_object = j->text[j->pos] == '{';
        unsigned long index = strtoul(token, NULL, 10);

        j->pos++;
        for (unsigned long i = 0;; i++) {
                skip_space(j);
                if (j->text[j->pos] == '}' || j->text[j->pos] == ']' || !j->text[j->pos])
                        return false;
                *ret_item_pos = j->pos;
                if (is_object) {
                        bool match = key_equals(j, token, n);

                        skip_string(j);
                        skip_space(j);
                        j->pos++; /* ':' */
                        skip_space(j);
                        if (match)
                                return true;
                } else if (i == index) {
                        return true;
                }
                skip_value(j);
                skip_space(j);
                if (j->text[j->pos] == ',')
                        j->pos++;
        }
}

void json_locate(const char *text, const char *pointer, unsigned *ret_line, unsigned *ret_column) {
        struct jcursor j = { .text = text };
        size_t found = 0;

        skip_space(&j);
        found = j.pos;
        while (*pointer == '/') {
                const char *token = pointer + 1;
                size_t n = strcspn(token, "/"), item_pos;

                if (j.text[j.pos] != '{' && j.text[j.pos] != '[')
                        break;
                if (!step_into(&j, token, n, &item_pos))
                        break;
                found = item_pos;
                pointer = token + n;
        }
        text_position(text, found, ret_line, ret_column);
}

/* A key as JSON means it: the raw text when it has no escape, else a decoded copy. */
struct decoded_key {
        const char *bytes;
        size_t len;
        char *decoded; /* owned, or NULL */
};

static void decoded_keys_free(struct decoded_key **keys) {
        for (struct decoded_key *k = *keys; k && k->bytes; k++)
                free(k->decoded);
        free(*keys);
}

static int fail_at_offset(const struct jcursor *j, size_t offset, const char *file, struct nb_error *err,
                          const char *fmt, int len, const char *token) {
        unsigned line, column;

        text_position(j->text, offset, &line, &column);
        return nb_fail_at(err, file, line, column, fmt, len, token);
}

/* json-c's strict mode still takes NaN, Infinity and "1."; JSON does not. */
static bool is_json_number(const char *s, size_t n) {
        size_t i = 0;

        i += s[i] == '-';
        if (i < n && s[i] == '0')
                i++;
        else if (i < n && s[i] >= '1' && s[i] <= '9')
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
        else
                return false;
        if (i < n && s[i] == '.') {
                size_t start = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start)
                        return false;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                size_t start;
                i++;
                i += i < n && (s[i] == '+' || s[i] == '-');
                start = i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++;
                if (i == start)
                        return false;
        }
        return i == n;
}

static int check_scalar(struct jcursor *j, const char *file, struct nb_error *err) {
        size_t start = j->pos, n;
        const char *token = j->text + start;

        skip_value(j);
        n = j->pos - start;
        if ((n == 4 && strncmp(token, "true", 4) == 0) || (n == 5 && strncmp(token, "false", 5) == 0) ||
            (n == 4 && strncmp(token, "null", 4) == 0) || is_json_number(token, n))
                return 0;
        return fail_at_offset(j, start, file, err, "invalid JSON: %.*s is not a JSON value", (int) MIN(n, 64), token);
}

static int check_value(struct jcursor *j, const char *file, struct nb_error *err);

/* Records the key at the cursor; fails when it repeats an earlier key of its object or holds a NUL. */
static int check_key(struct jcursor *j, struct decoded_key **keys, size_t *n_keys, const char *file,
                     struct nb_error *err) {
        size_t key_pos = j->pos, raw_len;
        struct decoded_key key = { .bytes = j->text + key_pos + 1 }, *grown;

        skip_string(j);
        raw_len = j->pos - key_pos;
        key.len = raw_len - 2;
        if (memchr(key.bytes, '\\', key.len)) {
                if (!(key.decoded = decode_string(j->text + key_pos, &key.len)))
                        return nb_fail(err, ENOMEM, "%s: out of memory", file);
                key.bytes = key.decoded;
        }
        grown = reallocarray(*keys, *n_keys + 2, sizeof(**keys));
        if (!grown) {
                free(key.decoded);
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        }
        *keys = grown;
        grown[*n_keys] = key;
        grown[++*n_keys] = (struct decoded_key) {};
        if (memchr(key.bytes, '\0', key.len))
                return fail_at_offset(j, key_pos, file, err, "key %.*s contains a NUL character; remove it",
                                      (int) MIN(raw_len, 128), j->text + key_pos);
        for (size_t k = 0; k + 1 < *n_keys; k++)
                if (grown[k].len == key.len && memcmp(grown[k].bytes, key.bytes, key.len) == 0)
                        return fail_at_offset(j, key_pos, file, err, "duplicate key %.*s; keep only one",
                                              (int) MIN(raw_len, 128), j->text + key_pos);
        return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): runs on text that json-c parsed, at most 32 levels deep */
static int check_collection(struct jcursor *j, const char *file, struct nb_error *err) {
        _cleanup_(decoded_keys_free) struct decoded_key *keys = NULL;
        bool is_object = j->text[j->pos] == '{';
        size_t n_keys = 0;
        int r;

        for (j->pos++;;) {
                skip_space(j);
                if (j->text[j->pos] == '}' || j->text[j->pos] == ']') {
                        j->pos++;
                        return 0;
                }
                if (is_object) {
                        if ((r = check_key(j, &keys, &n_keys, file, err)) < 0)
                                return r;
                        skip_space(j);
                        j->pos++; /* ':' */
                }
                if ((r = check_value(j, file, err)) < 0)
                        return r;
                skip_space(j);
                if (j->text[j->pos] == ',')
                        j->pos++;
        }
}

/* NOLINTNEXTLINE(misc-no-recursion): runs on text that json-c parsed, at most 32 levels deep */
static int check_value(struct jcursor *j, const char *file, struct nb_error *err) {
        skip_space(j);
        if (j->text[j->pos] == '"') {
                skip_string(j);
                return 0;
        }
        if (j->text[j->pos] == '{' || j->text[j->pos] == '[')
                return check_collection(j, file, err);
        return check_scalar(j, file, err);
}

int json_parse_strict(const char *text, size_t len, const char *file, struct json_object **ret,
                      struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        struct json_tokener *tok;
        enum json_tokener_error jerr;
        struct jcursor j = { .text = text };
        size_t end;
        unsigned line, column;
        int r;

        if ((r = text_check_utf8(text, len, file, err)) < 0)
                return r;
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                return nb_fail_at(err, file, 1, 1, "starts with a byte order mark (BOM); save the file as UTF-8 without a BOM");
        tok = json_tokener_new();
        if (!tok)
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int) len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (jerr == json_tokener_continue)
                jerr = json_tokener_error_parse_eof;
        if (jerr != json_tokener_success) {
                text_position(text, end, &line, &column);
                return nb_fail_at(err, file, line, column, "invalid JSON: %s", json_tokener_error_desc(jerr));
        }
        j.pos = end;
        skip_space(&j);
        if (j.pos < len) {
                text_position(text, j.pos, &line, &column);
                return nb_fail_at(err, file, line, column, "invalid JSON: data after the end of the value");
        }
        j.pos = 0;
        skip_space(&j);
        if ((r = check_value(&j, file, err)) < 0)
                return r;
        *ret = TAKE_PTR(root);
        return 0;
}

void json_pointer_append(char *buf, size_t size, const char *pointer, const char *key) {
        size_t used = (size_t) snprintf(buf, size, "%s/", pointer);

        for (const char *p = key; *p && used + 3 < size; p++) {
                if (*p == '~' || *p == '/') {
                        buf[used++] = '~';
                        buf[used++] = *p == '~' ? '0' : '1';
                } else {
                        buf[used++] = *p;
                }
        }
        buf[MIN(used, size - 1)] = '\0';
}

int jfail(const struct jctx *c, const char *pointer, const char *fmt, ...) {
        char text[NB_ERROR_MAX];
        unsigned line, column;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        json_locate(c->text, pointer, &line, &column);
        return nb_fail_at(c->err, c->file, line, column, "%s", text);
}

const char *json_type_phrase(struct json_object *value) {
        switch (json_object_get_type(value)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_int:
                return "an integer";
        case json_type_double:
                return "a number";
        case json_type_string:
                return "a string";
        case json_type_array:
                return "an array";
        default:
                return "an object";
        }
}

int jexpect_object(const struct jctx *c, struct json_object *value, const char *pointer, const char *what) {
        if (json_object_is_type(value, json_type_object))
                return 0;
        return jfail(c, pointer, "%s must be an object, not %s", what, json_type_phrase(value));
}

static bool in_list(const char *const *list, const char *s) {
        for (size_t i = 0; list[i]; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

int jcheck_keys(const struct jctx *c, struct json_object *obj, const char *pointer, const char *what,
                const char *const *allowed, const char *const *required) {
        char member[512], list[512];

        json_object_object_foreach(obj, key, value) {
                (void) value;
                if (in_list(allowed, key))
                        continue;
                words_join(allowed, list, sizeof(list));
                json_pointer_append(member, sizeof(member), pointer, key);
                return jfail(c, member, "unknown key \"%.64s\" in %s (allowed: %s)", key, what, list);
        }
        for (size_t i = 0; required && required[i]; i++)
                if (!json_object_object_get_ex(obj, required[i], NULL))
                        return jfail(c, pointer, "%s is missing \"%s\"; add it", what, required[i]);
        return 0;
}

static int check_string(const struct jctx *c, struct json_object *value, const char *pointer, const char *label,
                        size_t size, const char *(*problem)(const char *)) {
        const char *s, *why;

        if (!json_object_is_type(value, json_type_string))
                return jfail(c, pointer, "%s must be a string, not %s", label, json_type_phrase(value));
        s = json_object_get_string(value);
        if (strlen(s) != (size_t) json_object_get_string_len(value))
                return jfail(c, pointer, "%s contains a NUL character; remove it", label);
        if (strlen(s) >= size)
                return jfail(c, pointer, "%s is longer than %zu bytes; shorten it", label, size - 1);
        if (problem && (why = problem(s)))
                return jfail(c, pointer, "%s \"%.64s\" %s", label, s, why);
        return 0;
}

int jget_string(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, char *out,
                size_t size, const char *(*problem)(const char *)) {
        struct json_object *value;
        char member[512], label[96];
        int r;

        if (!json_object_object_get_ex(obj, key, &value))
                return 0;
        snprintf(member, sizeof(member), "%s/%s", pointer, key);
        snprintf(label, sizeof(label), "\"%s\"", key);
        if ((r = check_string(c, value, member, label, size, problem)) < 0)
                return r;
        snprintf(out, size, "%s", json_object_get_string(value));
        return 1;
}

int jget_bool(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, bool *out) {
        struct json_object *value;
        char member[512];

        if (!json_object_object_get_ex(obj, key, &value))
                return 0;
        snprintf(member, sizeof(member), "%s/%s", pointer, key);
        if (!json_object_is_type(value, json_type_boolean))
                return jfail(c, member, "\"%s\" must be true or false, not %s", key, json_type_phrase(value));
        *out = json_object_get_boolean(value);
        return 1;
}

int jget_uint(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, uint64_t max,
              uint64_t *out) {
        struct json_object *value;
        char member[512];

        if (!json_object_object_get_ex(obj, key, &value))
                return 0;
        snprintf(member, sizeof(member), "%s/%s", pointer, key);
        if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0 ||
            json_object_get_uint64(value) > max)
                return jfail(c, member, "\"%s\" must be a whole number from 0 to %ju", key, (uintmax_t) max);
        *out = json_object_get_uint64(value);
        return 1;
}

int jget_name_array(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key,
                    size_t min_items, size_t max_items, nb_name **ret_names, size_t *ret_n) {
        _cleanup_free_ nb_name *names = NULL;
        struct json_object *array;
        char member[512], item[560], label[96];
        size_t n;
        int r;

        if (!json_object_object_get_ex(obj, key, &array))
                return 0;
        snprintf(member, sizeof(member), "%s/%s", pointer, key);
        if (!json_object_is_type(array, json_type_array))
                return jfail(c, member, "\"%s\" must be an array of names, not %s", key, json_type_phrase(array));
        n = json_object_array_length(array);
        if (n < min_items || n > max_items)
                return jfail(c, member, "\"%s\" must have %zu to %zu items, not %zu", key, min_items, max_items, n);
        names = calloc(n ? n : 1, sizeof(*names));
        if (!names)
                return nb_fail(c->err, ENOMEM, "%s: out of memory", c->file);
        snprintf(label, sizeof(label), "\"%s\" item", key);
        for (size_t i = 0; i < n; i++) {
                snprintf(item, sizeof(item), "%s/%zu", member, i);
                if ((r = check_string(c, json_object_array_get_idx(array, i), item, label, sizeof(names[i]),
                                      name_problem)) < 0)
                        return r;
                name_copy(names[i], json_object_get_string(json_object_array_get_idx(array, i)));
        }
        size_t repeat = names_find_repeat(names, n, sizeof(*names), 0);
        if (repeat < n) {
                snprintf(item, sizeof(item), "%s/%zu", member, repeat);
                return jfail(c, item, "\"%s\" lists \"%s\" twice; keep only one", key, names[repeat]);
        }
        *ret_names = TAKE_PTR(names);
        *ret_n = n;
        return 1;
}

struct json_object *json_bytes_or_null(uint64_t bytes) {
        return bytes == NB_SIZE_UNLIMITED ? NULL : json_object_new_uint64(bytes);
}

struct json_object *json_string_or_null(const char *s) {
        return s[0] ? json_object_new_string(s) : NULL;
}
