/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netlink core: sockets, pipelined request batches, ACK/extack matching, dumps, and the tc
 * operations built on them. The only code that touches netlink sockets. It knows nlmsghdr,
 * NLMSG_ERROR/NLMSG_DONE and extack, RTM_* types and struct tcmsg; it does not know TCA_*
 * flower attributes (requests and replies go through tc.h).
 *
 * Conventions:
 *  - Errors are negative errno values everywhere (return values and the `error` result fields),
 *    0 is success. Nothing sets errno for the caller.
 *  - No global state: everything lives in a struct nlc_sock. It is not thread-safe; use one
 *    socket per thread.
 *  - Encoders are pure callbacks `(ctx, seq, buf, len) -> size | 0 | -errno` (0 = "does not fit
 *    in len"), exactly the shape of tc_encode(), so this layer never learns message contents.
 */
#ifndef NFT_TC_OFFLOAD_NL_H
#define NFT_TC_OFFLOAD_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nft-tc-offload/rule.h"

struct nlmsghdr;
struct nlc_sock;

/* ---- extack ------------------------------------------------------------------------------ */

#define NLC_EXTACK_MSG_MAX 256

/* What the kernel said about one request (NLMSGERR_ATTR_MSG / NLMSGERR_ATTR_OFFS). Cleared means
 * msg[0] == '\0' and off == 0; the bytes after msg's terminator are unspecified (not zeroed). */
struct nlc_extack {
	char msg[NLC_EXTACK_MSG_MAX]; /* "" when the kernel gave no message (truncated to fit) */
	uint32_t off; /* byte offset of the offending attribute in the request; 0 = none */
};

/*
 * Reads an NLMSG_ERROR or NLMSG_DONE message: returns its error (0 for an ACK / a clean end of
 * dump, else a negative errno) and fills ext (when not NULL) from its extack TLVs, leaving it
 * cleared when there are none. A malformed message gives -EBADMSG.
 */
int nlc_msg_error(const struct nlmsghdr *nlh, struct nlc_extack *ext);

/* ---- socket ------------------------------------------------------------------------------ */

/*
 * A datagram transport under the socket. The real one is a libmnl socket; unit tests plug in a
 * fake kernel. send() sends one whole datagram (0 or -errno). recv() receives one datagram into
 * buf and returns its length or -errno: -EAGAIN when wait is false and nothing is queued,
 * -ETIMEDOUT when wait is true and nothing came in time, -ENOBUFS when replies were lost
 * (receive buffer overrun), -EMSGSIZE when the datagram did not fit in len.
 */
struct nlc_transport {
	int (*send)(void *ctx, const void *buf, size_t len);
	ssize_t (*recv)(void *ctx, void *buf, size_t len, bool wait);
};

struct nlc_sock_opts {
	size_t rcvbuf; /* receive buffer to ask for (SO_RCVBUFFORCE, else SO_RCVBUF); 0 = default */
	int timeout_ms; /* longest wait for a reply; 0 = NLC_DEFAULT_TIMEOUT_MS, < 0 = forever */
	bool cap_ack;   /* NETLINK_CAP_ACK: error replies do not carry the whole request back */
};

#define NLC_DEFAULT_TIMEOUT_MS 5000

/* Which socket options the kernel accepted. */
struct nlc_features {
	bool ext_ack;    /* NETLINK_EXT_ACK */
	bool strict_chk; /* NETLINK_GET_STRICT_CHK (kernels before 4.20 refuse it) */
	bool cap_ack;    /* NETLINK_CAP_ACK */
};

/* Counters since the socket was opened. */
struct nlc_stats {
	uint64_t sendmsgs;      /* datagrams sent */
	uint64_t requests;      /* request messages sent (one datagram carries many) */
	uint64_t recvs;         /* datagrams received */
	uint64_t enobufs;       /* receive overruns: replies the kernel dropped */
	uint64_t strays;        /* replies that matched no pending request */
	uint64_t retries;       /* requests re-sent because their ACK was lost to an overrun */
	uint64_t timeouts;      /* requests given up waiting for their ACK */
	uint64_t dump_restarts; /* dumps redone after NLM_F_DUMP_INTR or an overrun */
};

/* Opens and binds a netlink socket of the given bus (NETLINK_ROUTE, ...). o may be NULL. */
int nlc_open(struct nlc_sock **sp, int bus, const struct nlc_sock_opts *o);

/* Makes a socket on a custom transport (tests); rcvbuf is the receive budget to assume. */
int nlc_open_transport(struct nlc_sock **sp, const struct nlc_transport *t, void *ctx,
                       size_t rcvbuf);

void nlc_close(struct nlc_sock *s);

/* Sets the receive buffer: SO_RCVBUFFORCE (CAP_NET_ADMIN), falling back to SO_RCVBUF (capped by
 * net.core.rmem_max). The size actually granted is then nlc_rcvbuf(). */
int nlc_set_rcvbuf(struct nlc_sock *s, size_t bytes);
size_t nlc_rcvbuf(const struct nlc_sock *s); /* what the kernel grants (its doubled figure) */

int nlc_fd(const struct nlc_sock *s); /* -1 on a custom transport */
uint32_t nlc_portid(const struct nlc_sock *s);
const struct nlc_features *nlc_features(const struct nlc_sock *s);
const struct nlc_stats *nlc_stats(const struct nlc_sock *s);

/* ---- pipelined batches ------------------------------------------------------------------- */

/*
 * Writes one complete request (struct nlmsghdr included) for sequence number seq into buf.
 * Returns its size, 0 when it does not fit in len, or a negative errno. The batch forces
 * NLM_F_REQUEST|NLM_F_ACK and the seq on the header, so every request gets exactly one
 * NLMSG_ERROR (ACK) back.
 */
typedef int (*nlc_encode_fn)(void *ctx, uint32_t seq, void *buf, size_t len);

/* Receives one reply message: 0 to go on, a negative errno to record an error. */
typedef int (*nlc_msg_fn)(void *ctx, const struct nlmsghdr *nlh);

enum nlc_op_state {
	NLC_OP_QUEUED = 0, /* not sent yet (or waiting to be re-sent) */
	NLC_OP_SENT,       /* waiting for its ACK */
	NLC_OP_DONE,       /* finished: see error */
};

/* One request of a batch. The caller fills the first block; the batch fills the results. */
struct nlc_op {
	nlc_encode_fn encode;
	nlc_msg_fn reply; /* optional: every non-ACK reply with this op's seq (NLM_F_ECHO echo,
	                   * RTM_GET* answer), called before the ACK arrives */
	void *ctx;        /* passed to encode and reply */

	enum nlc_op_state state; /* NLC_OP_DONE for every op when nlc_batch() returns */
	int error;               /* 0, the kernel's error, encode's / reply's error, or:
	                          *  -EMSGSIZE  encode said "does not fit" even into an empty buffer
	                          *  -ENOBUFS   its ACK was lost to overruns on every try
	                          *  -ETIMEDOUT no ACK within the socket's timeout */
	struct nlc_extack ext;   /* the kernel's extack for it (also on success: warnings) */
	uint32_t seq;            /* seq of its last send */
	unsigned int tries;      /* times it was sent */
};

/* Receive-buffer bytes one request's replies may take in the kernel's accounting (skb
 * truesize): an ACK, or an error carrying the request back; an echo (~1 KB of message in a
 * ~4 KB skb) plus its ACK. */
#define NLC_REPLY_COST_ACK  2048
#define NLC_REPLY_COST_ECHO 8192
#define NLC_SEND_CHUNK      32768 /* bytes of requests per sendmsg */
/*
 * The default window's ceiling, whatever the receive buffer allows. The kernel handles a
 * sendmsg's requests before it returns, so everything in flight has its reply queued: a small
 * window keeps few reply skbs alive and the kernel's allocations warm. Measured in the lab VM
 * on QEMU's instruction counter (docs/benchmarks.md §1): deleting 20,000 rules took 0.486 s
 * with a window of 2,048 (an 8-MB buffer), 0.425 s with 128 and 0.391 s with 16–48; installs
 * gained 2–4%.
 */
#define NLC_WINDOW_MAX 32

struct nlc_batch_opts {
	size_t reply_cost;        /* 0 = NLC_REPLY_COST_ACK */
	unsigned int window;      /* most requests in flight; 0 = half the receive buffer / cost,
	                           * at most NLC_WINDOW_MAX */
	unsigned int max_retries; /* re-sends of a request whose ACK an overrun lost */
};

/*
 * Sends ops[0..n) as a pipelined batch: as many requests per sendmsg as fit in NLC_SEND_CHUNK,
 * never more than the window in flight, ACKs matched to requests by sequence number. On
 * ENOBUFS it reads what is still queued, halves the window, and re-queues the requests whose
 * ACK was lost (ahead of the rest, up to max_retries times each; then they fail with
 * -ENOBUFS). Ops must be independent of each other (no two on the same object): a re-sent op
 * may land after a later one. Every op ends in NLC_OP_DONE with its own result.
 * Returns the number of failed ops (0 = all succeeded). o may be NULL.
 */
int nlc_batch(struct nlc_sock *s, struct nlc_op *ops, size_t n, const struct nlc_batch_opts *o);

/* ---- dumps ------------------------------------------------------------------------------- */

struct nlc_dump_req {
	nlc_encode_fn encode;     /* the dump request (the encoder sets NLM_F_DUMP) */
	nlc_msg_fn msg;           /* each message of the dump; a negative return stops delivery and
	                           * becomes the dump's result (the rest is read and dropped) */
	void (*reset)(void *ctx); /* optional: the dump is being redone, forget what msg got */
	void *ctx;
	unsigned int max_tries; /* 0 = NLC_DUMP_TRIES */
};

#define NLC_DUMP_TRIES 4

/*
 * Runs a dump to its end. When a message carries NLM_F_DUMP_INTR (the data changed during the
 * dump) or replies were lost, the dump is read to its end, reset() is called and the whole dump
 * redone, up to max_tries times; then -EINTR. A kernel error (NLMSG_ERROR, or NLMSG_DONE with
 * an error) is returned with its extack in ext (may be NULL). Returns 0 or a negative errno.
 */
int nlc_dump(struct nlc_sock *s, const struct nlc_dump_req *d, struct nlc_extack *ext);

/* ---- tc operations (tc_ops.c, on top of tc.h) -------------------------------------------- */

/* Creates the clsact qdisc on a device; an existing clsact is success. When another qdisc holds
 * the ingress slot (e.g. "ingress"), -EEXIST with the reason in ext. */
int nlc_tc_ensure_clsact(struct nlc_sock *s, uint32_t ifindex, struct nlc_extack *ext);

/* The outcome for one rule of a tc batch. */
struct nlc_tc_result {
	int error;             /* 0 or a negative errno (kernel, encoder, transport) */
	struct nlc_extack ext; /* kernel's extack; for encoder errors / mismatches our reason */
	bool echoed;           /* replace: the kernel echoed the installed rule */
	bool mismatch;         /* replace: the echo decodes to something other than the request
	                        * (handle / prio the kernel picked for 0 are not a mismatch) */
	struct tc_id id;       /* replace: the id as installed (with the kernel's handle / prio) */
	struct tc_rule_state state; /* replace / get: what the kernel reports (in_hw, stats) */
};

/*
 * Batches of tc filter requests (RTM_NEWTFILTER replace with NLM_F_ECHO, RTM_DELTFILTER,
 * RTM_GETTFILTER). res has n entries. out (may be NULL for replace) receives the decoded echo /
 * answer per rule. o may be NULL (the right reply cost is chosen). Return the number of failed
 * rules: errors, and for replace also mismatches.
 */
int nlc_tc_replace_batch(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                         struct nlc_tc_result *res, struct tc_rule *out,
                         const struct nlc_batch_opts *o);
/*
 * Replace without NLM_F_ECHO, for callers that choose every rule's handle and prio themselves
 * (flower takes an explicit handle on create; the flow strategy's per-connection rules have
 * one): the same RTM_NEWTFILTER request as nlc_tc_replace_batch() minus NLM_F_ECHO, so the
 * kernel answers with an ACK only and the window follows NLC_REPLY_COST_ACK. Errors and extack
 * are still matched per rule by sequence number. A rule with handle 0 or prio 0 is not sent:
 * its result is -EINVAL with the reason in ext (the kernel's pick would never be reported).
 * Results: id is the rule's own id; echoed and mismatch stay false and state stays unset (ask
 * nlc_tc_get_batch() or a dump for in_hw and stats). Returns the number of failed rules.
 */
int nlc_tc_replace_batch_noecho(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                                struct nlc_tc_result *res, const struct nlc_batch_opts *o);
int nlc_tc_delete_batch(struct nlc_sock *s, const struct tc_rule *rules, size_t n,
                        struct nlc_tc_result *res, const struct nlc_batch_opts *o);
int nlc_tc_get_batch(struct nlc_sock *s, const struct tc_id *ids, size_t n,
                     struct nlc_tc_result *res, struct tc_rule *out,
                     const struct nlc_batch_opts *o);

/* Single-rule forms: return res->error, or -EILSEQ for a replace whose echo mismatched. */
int nlc_tc_replace(struct nlc_sock *s, const struct tc_rule *r, struct nlc_tc_result *res);
int nlc_tc_delete(struct nlc_sock *s, const struct tc_rule *r, struct nlc_tc_result *res);
int nlc_tc_get(struct nlc_sock *s, const struct tc_id *id, struct tc_rule *out,
               struct nlc_tc_result *res);

/* Callbacks of a device's filter dump. */
struct nlc_tc_dump_cb {
	int (*rule)(void *ctx, const struct tc_rule *r); /* each flower filter; < 0 stops */
	/* optional: a filter tc_decode() did not take: err is -ENOENT (not flower) or -EINVAL
	 * (undecodable), why its reason. Without it such filters are skipped (and counted). */
	int (*other)(void *ctx, const struct nlmsghdr *nlh, int err, const char *why);
	/* optional: the hook's dump is being redone: forget the rules of that hook */
	void (*reset)(void *ctx, enum tc_hook hook);
	void *ctx;
};

struct nlc_tc_dump_stats {
	unsigned int rules;   /* flower filters delivered */
	unsigned int skipped; /* filters passed to other() or skipped */
};

/* Dumps every filter of the device's clsact ingress and egress, all chains. st may be NULL. */
int nlc_tc_dump(struct nlc_sock *s, uint32_t ifindex, const struct nlc_tc_dump_cb *cb,
                struct nlc_tc_dump_stats *st, struct nlc_extack *ext);

struct nlc_tc_brief_dump_cb {
	int (*rule)(void *ctx, const struct tc_brief *b); /* each flower filter; < 0 stops */
	void (*reset)(void *ctx, enum tc_hook hook);      /* optional: as nlc_tc_dump_cb's */
	void *ctx;
	bool no_stats; /* the counters are not needed (TC_BRIEF_NO_STATS) */
};

/*
 * The same as a terse dump (TCA_DUMP_FLAGS_TERSE, Linux 5.10): each flower filter's place,
 * flags, action cookie and counters only (tc_decode_brief), a fraction of the kernel's work and
 * bytes of a full dump. A kernel without terse dumps sends full filters, read the same way.
 * Filters tc_decode_brief does not take (not flower, malformed) are counted as skipped.
 */
int nlc_tc_dump_brief(struct nlc_sock *s, uint32_t ifindex, const struct nlc_tc_brief_dump_cb *cb,
                      struct nlc_tc_dump_stats *st, struct nlc_extack *ext);

/*
 * The counters of n filters, read from one terse dump of each device they are on instead of a
 * get each (nlc_tc_get_batch): for many filters a fraction of the kernel's and our work, since
 * the kernel fills no match and no action options. res[i] as a get gives it, except that
 * state.lastused_ms is 0 (a terse dump has no action options, where the time of last use is);
 * -ENOENT for a filter the dump does not have. A device whose dump fails, and filters on a
 * shared block, are asked with gets. Returns the number of failed filters.
 */
int nlc_tc_stats_dump(struct nlc_sock *s, const struct tc_id *ids, size_t n,
                      struct nlc_tc_result *res);

#endif
