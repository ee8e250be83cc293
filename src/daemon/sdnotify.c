/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sd_notify protocol without libsystemd. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nft-tc-offload/sdnotify.h"

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int sd_notifier_init(struct sd_notifier *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *wd_usec = getenv("WATCHDOG_USEC");
	const char *wd_pid = getenv("WATCHDOG_PID");
	size_t len;
	uint64_t pid;

	memset(n, 0, sizeof(*n));
	n->fd = -1;

	/* The watchdog is ours unless WATCHDOG_PID names another process. */
	if (parse_u64(wd_usec, &n->watchdog_usec) &&
	    (!wd_pid || (parse_u64(wd_pid, &pid) && pid == (uint64_t)getpid())))
		;
	else
		n->watchdog_usec = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0'; /* abstract namespace: no trailing NUL counted */
	n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	return 0;
}

void sd_notifier_close(struct sd_notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

bool sd_notifier_enabled(const struct sd_notifier *n)
{
	return n->fd >= 0;
}

int sd_notify_send(const struct sd_notifier *n, const char *state)
{
	ssize_t sent;

	if (n->fd < 0)
		return 0;
	sent = sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
	              n->addrlen);
	if (sent < 0)
		return -errno;
	return 0;
}

uint64_t sd_notifier_watchdog_ms(const struct sd_notifier *n)
{
	return n->watchdog_usec / 2000;
}
