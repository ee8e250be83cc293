/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: an AF_UNIX stream socket (default /run/nft-tc-offload/control.sock,
 * mode 0600) on which the daemon answers the operator CLI (`status`, `flows`, `explain`).
 *
 * Protocol: one request per connection. The client sends one line of text (at most
 * CTL_REQUEST_MAX bytes, '\n'-terminated): a command and its arguments separated by spaces,
 * e.g. "status", "flows", "explain tcp 10.0.1.2 40000 10.0.2.2 5201". The daemon answers with
 * one JSON object followed by '\n' and closes the connection: {"ok": true, ...command's
 * fields...} or {"ok": false, "error": "..."}. The CLI renders it as text, or prints it as is
 * with -j.
 *
 * No global state. The server runs on the daemon's loop and never blocks on a client: requests
 * are read as they arrive, a client that sends nothing for CTL_CLIENT_TIMEOUT_MS is dropped,
 * and the answer is written with a send timeout.
 */
#ifndef NFT_TC_OFFLOAD_CTL_H
#define NFT_TC_OFFLOAD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "nft-tc-offload/loop.h"

#define CTL_REQUEST_MAX       1024
#define CTL_MAX_ARGS          16
#define CTL_CLIENT_TIMEOUT_MS 2000
#define CTL_MAX_CLIENTS       16

/*
 * Answers one request: argv[0] is the command. Returns a new JSON object (the server adds
 * "ok": true unless the object already has "ok"), or NULL with the message in err ("ok": false).
 */
typedef json_t *(*ctl_handler_fn)(void *ctx, int argc, char **argv, char *err, size_t errlen);

struct ctl_server;

struct ctl_server_opts {
	const char *path;
	mode_t mode;       /* permission bits of the socket file */
	const char *group; /* group owning it; NULL or "" = the daemon's */
	ctl_handler_fn handler;
	void *ctx;
};

/*
 * Creates the socket (its directory too, 0755, when missing), after removing a stale socket file
 * (one nobody answers on). Another daemon answering on path is an error (-EADDRINUSE). Returns 0
 * or a negative errno with the reason in err.
 */
int ctl_server_open(struct ctl_server **out, struct ev_loop *loop, const struct ctl_server_opts *o,
                    char *err, size_t errlen);
/* Closes the socket, its clients, and removes the socket file. */
void ctl_server_close(struct ctl_server *s);
const char *ctl_server_path(const struct ctl_server *s);

/* Splits a request line into words (in place). Returns argc, or -1 when it has more than
 * max words or is empty. */
int ctl_split(char *line, char **argv, int max);

/*
 * The server's request parser: buf holds the len bytes a client sent (len <= CTL_REQUEST_MAX;
 * buf has room for one more). The request is the text before the first '\n', or all of it when
 * the client ended its stream without one; CTL_REQUEST_MAX bytes without a '\n' are too long.
 * Only printable ASCII, tabs and '\r' are accepted, so every word (and every error message that
 * quotes one) is valid JSON text. Splits the request in place with ctl_split. Returns argc
 * (1..max), or -1 with the reason in err (too long, a byte it does not accept and where, empty,
 * more than max words).
 */
int ctl_parse_request(char *buf, size_t len, char **argv, int max, char *err, size_t errlen);

/*
 * The client side: sends request (a line without '\n') to the daemon at path and returns its
 * answer (a new JSON object), or NULL with the reason in err (no daemon, permission, timeout,
 * malformed answer). timeout_ms bounds the whole exchange.
 */
json_t *ctl_request(const char *path, const char *request, int timeout_ms, char *err,
                    size_t errlen);

#endif
