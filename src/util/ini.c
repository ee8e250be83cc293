/* SPDX-License-Identifier: GPL-2.0-or-later */
/* INI files with line numbers, through inih's stream interface. */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "nft-tc-offload/ini.h"

struct reader {
	const char *text;
	size_t pos, len;
	unsigned line;
	bool stop;     /* the handler failed: hand inih no more lines */
	bool too_long; /* a line did not fit inih's buffer */
	ini_line_fn fn;
	void *ctx;
	int rc;
};

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *start, *nl, *s;
	size_t n;

	if (r->stop || r->pos >= r->len)
		return NULL;
	start = r->text + r->pos;
	nl = memchr(start, '\n', r->len - r->pos);
	n = nl ? (size_t)(nl - start) + 1 : r->len - r->pos;
	r->line++;
	if (num < 4 || n + 2 > (size_t)num) {
		r->too_long = r->stop = true;
		return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\0';
	r->pos += n;

	/* Section headers go to the handler from here, with their line, even when empty. */
	s = str;
	if (r->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (*s && isspace((unsigned char)*s))
		s++;
	if (*s == '[') {
		const char *end = strchr(s, ']');
		char name[256];

		if (end && (size_t)(end - s - 1) < sizeof(name)) {
			memcpy(name, s + 1, (size_t)(end - s - 1));
			name[end - s - 1] = '\0';
			r->rc = r->fn(r->ctx, name, NULL, NULL, r->line);
			if (r->rc)
				r->stop = true;
		}
	}
	return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;

	if (r->stop)
		return 0;
	r->rc = r->fn(r->ctx, section, name, value, r->line);
	if (r->rc)
		r->stop = true;
	return 1;
}

int ini_parse_text(const char *text, const char *origin, ini_line_fn fn, void *ctx, char *err,
                   size_t errlen)
{
	struct reader r = {.text = text, .len = strlen(text), .fn = fn, .ctx = ctx};
	int rc = ini_parse_stream(read_line, &r, on_key, &r);

	if (r.rc)
		return -1; /* the handler wrote its own message */
	if (r.too_long) {
		snprintf(err, errlen, "%s:%u: error: line too long", origin, r.line);
		return -1;
	}
	if (rc == -2) {
		snprintf(err, errlen, "%s: error: out of memory", origin);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, errlen,
		         "%s:%d: error: syntax error (expected '[section]', 'key = value' or a "
		         "'#' comment)",
		         origin, rc);
		return -1;
	}
	return 0;
}

char *ini_read_file(const char *path, size_t max_size, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: error: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max_size) {
		snprintf(err, errlen, "%s: error: not a regular file of at most %zu bytes", path,
		         max_size);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: error: out of memory", path);
		goto fail;
	}
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: error: cannot read: %s", path,
			         n < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		have += (size_t)n;
	}
	buf[have] = '\0';
	if (memchr(buf, '\0', have)) {
		snprintf(err, errlen, "%s: error: contains a NUL byte", path);
		goto fail;
	}
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}
