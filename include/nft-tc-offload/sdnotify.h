/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sd_notify protocol, spoken directly (no libsystemd): datagrams such as "READY=1" or
 * "STATUS=..." to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace), and the watchdog interval from $WATCHDOG_USEC / $WATCHDOG_PID.
 * Without $NOTIFY_SOCKET (procd, a terminal) every call is a successful no-op.
 */
#ifndef NFT_TC_OFFLOAD_SDNOTIFY_H
#define NFT_TC_OFFLOAD_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

struct sd_notifier {
	int fd; /* -1 when notifications are off */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_usec; /* 0 when no watchdog is asked for */
};

/* Reads the environment. Returns 0 (also when notifications are off) or -errno/-EINVAL for a
 * malformed $NOTIFY_SOCKET. */
int sd_notifier_init(struct sd_notifier *n);
void sd_notifier_close(struct sd_notifier *n);
bool sd_notifier_enabled(const struct sd_notifier *n);

/* Sends one state string, e.g. "READY=1\nSTATUS=offloading 12 flows". Returns 0 or -errno. */
int sd_notify_send(const struct sd_notifier *n, const char *state);

/* How often to ping the watchdog: half of $WATCHDOG_USEC, in ms; 0 when there is no watchdog. */
uint64_t sd_notifier_watchdog_ms(const struct sd_notifier *n);

#endif
