/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INI files with line numbers, on top of inih: Debian's libinih is built without
 * INI_HANDLER_LINENO, so the text goes through ini_parse_stream() with a reader that counts
 * lines and sees section headers. Every callback gets the line it comes from, so the callers'
 * errors can say "FILE:LINE: error: ...".
 */
#ifndef NFT_TC_OFFLOAD_INI_H
#define NFT_TC_OFFLOAD_INI_H

#include <stddef.h>

/*
 * Called for every section header (name = NULL, value = NULL) and every "name = value" line
 * (section "" before the first header). Returns 0 to go on; non-zero stops the parse: the
 * handler has written its own message (it has ctx for that).
 */
typedef int (*ini_line_fn)(void *ctx, const char *section, const char *name, const char *value,
                           unsigned line);

/*
 * Parses text (NUL-terminated). origin names the text in errors. Returns 0, or -1 with
 * "ORIGIN:LINE: error: MESSAGE" in err (syntax errors, over-long lines, or the handler's).
 */
int ini_parse_text(const char *text, const char *origin, ini_line_fn fn, void *ctx, char *err,
                   size_t errlen);

/* Reads a whole file (at most max_size bytes) into a NUL-terminated malloc'd buffer, or NULL
 * with "PATH: error: ..." in err. */
char *ini_read_file(const char *path, size_t max_size, char *err, size_t errlen);

#endif
