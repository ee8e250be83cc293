/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: server on the daemon's loop, and the CLI's client. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nft-tc-offload/ctl.h"

struct ctl_client {
	struct ctl_server *srv;
	int fd;
	char buf[CTL_REQUEST_MAX + 1];
	size_t len;
	struct ev_timer *timeout;
	bool used;
};

struct ctl_server {
	struct ev_loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_handler_fn handler;
	void *ctx;
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

int ctl_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *save = NULL;

	for (char *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == max)
			return -1;
		argv[argc++] = w;
	}
	return argc ? argc : -1;
}

int ctl_parse_request(char *buf, size_t len, char **argv, int max, char *err, size_t errlen)
{
	const char *nl = memchr(buf, '\n', len);
	size_t n = nl ? (size_t)(nl - buf) : len;
	int argc;

	if (!nl && len >= CTL_REQUEST_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQUEST_MAX - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if ((c < 0x20 && c != '\t' && c != '\r') || c > 0x7e) {
			snprintf(err, errlen,
			         "byte 0x%02x at offset %zu of the request: printable ASCII only",
			         c, i);
			return -1;
		}
	}
	buf[n] = '\0';
	if (strspn(buf, " \t\r") == n) {
		snprintf(err, errlen, "empty request");
		return -1;
	}
	argc = ctl_split(buf, argv, max);
	if (argc < 0)
		snprintf(err, errlen, "more than %d words in the request", max);
	return argc;
}

static int make_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, strlen(path) + 1);
	return 0;
}

static void client_close(struct ctl_client *c)
{
	if (!c->used)
		return;
	ev_loop_del_fd(c->srv->loop, c->fd);
	close(c->fd);
	if (c->timeout)
		ev_timer_free(c->timeout);
	c->timeout = NULL;
	c->used = false;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void answer(struct ctl_client *c)
{
	char *argv[CTL_MAX_ARGS];
	char err[512] = "";
	json_t *reply = NULL;
	char *text;
	int argc;

	argc = ctl_parse_request(c->buf, c->len, argv, CTL_MAX_ARGS, err, sizeof(err));
	if (argc > 0)
		reply = c->srv->handler(c->srv->ctx, argc, argv, err, sizeof(err));
	if (!reply)
		reply = json_pack("{s:b, s:s}", "ok", 0, "error", err[0] ? err : "failed");
	else if (!json_object_get(reply, "ok"))
		json_object_set_new(reply, "ok", json_true());
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (text) {
		struct timeval tv = {.tv_sec = 2};

		/* the loop must not hang on a client that does not read */
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
		write_all(c->fd, text, strlen(text));
		write_all(c->fd, "\n", 1);
		free(text);
	}
	client_close(c);
}

static void client_readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;
	ssize_t n;

	n = recv(fd, c->buf + c->len, CTL_REQUEST_MAX - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* end of request without '\n': answer what came, if anything */
		if (n == 0 && c->len)
			answer(c);
		else
			client_close(c);
		return;
	}
	c->len += (size_t)n;
	/* a whole line, or a full buffer without one (answered: "request longer than ...") */
	if (memchr(c->buf, '\n', c->len) || c->len == CTL_REQUEST_MAX)
		answer(c);
}

static void client_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	client_close(arg);
}

static void server_readable(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct ctl_server *s = arg;
	struct ctl_client *c = NULL;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	for (size_t i = 0; i < CTL_MAX_CLIENTS && !c; i++)
		if (!s->clients[i].used)
			c = &s->clients[i];
	if (!c) {
		close(cfd); /* busy: the CLI says so */
		return;
	}
	memset(c, 0, sizeof(*c));
	c->srv = s;
	c->fd = cfd;
	c->used = true;
	c->timeout = ev_timer_new(loop, client_timeout, c);
	if (!c->timeout || ev_loop_add_fd(loop, cfd, client_readable, c) < 0) {
		if (c->timeout)
			ev_timer_free(c->timeout);
		c->timeout = NULL;
		close(cfd);
		c->used = false;
		return;
	}
	ev_timer_arm(c->timeout, CTL_CLIENT_TIMEOUT_MS, 0);
}

/* Someone answering on path? */
static bool alive(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
	close(fd);
	return ok;
}

static void make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) != 0 && errno == ENOENT) {
		make_parent(dir);
		mkdir(dir, 0755);
	}
}

int ctl_server_open(struct ctl_server **out, struct ev_loop *loop, const struct ctl_server_opts *o,
                    char *err, size_t errlen)
{
	struct ctl_server *s;
	struct sockaddr_un a;
	mode_t old;
	int rc;

	*out = NULL;
	if (make_addr(o->path, &a)) {
		snprintf(err, errlen, "control socket path too long: %s", o->path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->handler = o->handler;
	s->ctx = o->ctx;
	snprintf(s->path, sizeof(s->path), "%s", o->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		free(s);
		return rc;
	}
	make_parent(o->path);
	if (access(o->path, F_OK) == 0) {
		if (alive(&a)) {
			snprintf(err, errlen, "%s: another daemon answers there", o->path);
			close(s->fd);
			free(s);
			return -EADDRINUSE;
		}
		unlink(o->path); /* stale, from a daemon that did not stop cleanly */
	}
	/* created with the final permissions: no window in which others could connect */
	old = umask(0777 & ~o->mode);
	rc = bind(s->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(s->fd, 16) < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: %s", o->path, strerror(errno));
		close(s->fd);
		free(s);
		return rc;
	}
	if (chmod(o->path, o->mode) < 0) {
		rc = -errno;
		snprintf(err, errlen, "chmod %s: %s", o->path, strerror(errno));
		goto fail;
	}
	if (o->group && o->group[0]) {
		struct group *g = getgrnam(o->group);

		if (!g || chown(o->path, (uid_t)-1, g->gr_gid) < 0) {
			rc = g ? -errno : -ENOENT;
			snprintf(err, errlen, "control_group %s: %s", o->group,
			         g ? strerror(errno) : "no such group");
			goto fail;
		}
	}
	rc = ev_loop_add_fd(loop, s->fd, server_readable, s);
	if (rc < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(-rc));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	close(s->fd);
	unlink(o->path);
	free(s);
	return rc;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < CTL_MAX_CLIENTS; i++)
		client_close(&s->clients[i]);
	ev_loop_del_fd(s->loop, s->fd);
	close(s->fd);
	unlink(s->path);
	free(s);
}

const char *ctl_server_path(const struct ctl_server *s)
{
	return s->path;
}

static long left_ms(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000L +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

json_t *ctl_request(const char *path, const char *request, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un a;
	struct timespec deadline;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	json_t *reply = NULL;
	json_error_t jerr;
	int fd;

	if (make_addr(path, &a)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		snprintf(err, errlen, "cannot reach the daemon at %s: %s%s", path, strerror(errno),
		         errno == ENOENT || errno == ECONNREFUSED ? " (is nft-tc-offload running?)"
		                                                  : "");
		close(fd);
		return NULL;
	}
	write_all(fd, request, strlen(request));
	write_all(fd, "\n", 1);
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = left_ms(&deadline);
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			snprintf(err, errlen, "no answer from the daemon within %d ms", timeout_ms);
			goto out;
		}
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading the answer: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!len) {
		snprintf(err, errlen, "the daemon closed the connection without an answer (busy?)");
		goto out;
	}
	buf[len] = '\0';
	reply = json_loads(buf, 0, &jerr);
	if (!reply || !json_is_object(reply)) {
		snprintf(err, errlen, "malformed answer from the daemon: %s", jerr.text);
		json_decref(reply);
		reply = NULL;
	}
out:
	free(buf);
	close(fd);
	return reply;
}
