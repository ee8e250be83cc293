/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow strategy's conntrack engine: conntrack events in, per-connection tc rules out.
 *
 *   libnetfilter_conntrack event ─→ struct ct_event (ct_event_from_nfct; ct_event_from_nlmsg
 *        is the same conversion of the ctnetlink message itself, not wired in yet)
 *        ─→ ct_engine_event(): table lookup, eligibility (ct_elig_check), path resolver
 *           callback, flowrule_build (flowrule.h), profile_check_rule ─→ sink callback
 *           (install / delete operations; the netlink core in production)
 *   rule stats ─→ ct_engine_stats(): which conntrack timeouts to refresh (ct_refresh_timeout,
 *                 the edge out), which flows went idle (their rules are deleted)
 *
 * Everything but ct_event_from_nfct, ct_event_to_nfct, ct_refresh_timeout, ct_dump(_fd) and
 * ct_events_open is pure and unit-tested without a kernel. No global state.
 */
#ifndef NFT_TC_OFFLOAD_CONNTRACK_H
#define NFT_TC_OFFLOAD_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft-tc-offload/flowrule.h"
#include "nft-tc-offload/plan.h"
#include "nft-tc-offload/profile.h"
#include "nft-tc-offload/rule.h"

struct nf_conntrack;
struct nfct_handle;

/* ---- events ---------------------------------------------------------------------------- */

enum ct_event_type {
	CT_EVENT_NEW = 1,
	CT_EVENT_UPDATE,
	CT_EVENT_DESTROY,
};

/* Conntrack status, our bits (ct_event_from_nfct maps the kernel's IPS_* bits). */
enum ct_status_bits {
	CT_ST_SEEN_REPLY = 1u << 0,
	CT_ST_ASSURED = 1u << 1,
	CT_ST_CONFIRMED = 1u << 2,
	CT_ST_SRC_NAT = 1u << 3,
	CT_ST_DST_NAT = 1u << 4,
	CT_ST_SEQ_ADJUST = 1u << 5, /* IPS_SEQ_ADJUST: a helper rewrote sequence numbers */
	CT_ST_OFFLOAD = 1u << 6,    /* IPS_OFFLOAD: the kernel's software flowtable holds it (no
	                             * TCP state, no timeout in dumps; treat as established) */
	CT_ST_HW_OFFLOAD = 1u << 7, /* IPS_HW_OFFLOAD */
	CT_ST_HELPER = 1u << 8,     /* a helper is attached (CTA_HELP, or IPS_HELPER) */
	CT_ST_DYING = 1u << 9,
};

/* TCP conntrack states: the kernel's enum tcp_conntrack values. */
enum ct_tcp_state {
	CT_TCP_NONE = 0,
	CT_TCP_SYN_SENT,
	CT_TCP_SYN_RECV,
	CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT,
	CT_TCP_CLOSE_WAIT,
	CT_TCP_LAST_ACK,
	CT_TCP_TIME_WAIT,
	CT_TCP_CLOSE,
	CT_TCP_SYN_SENT2,
	CT_TCP_STATE_MAX,
};

#define CT_HELPER_NAME_MAX 16

/* One conntrack event (or one entry of a dump, as an UPDATE), as plain data. */
struct ct_event {
	enum ct_event_type type;
	uint32_t id;           /* conntrack id (CTA_ID), 0 when not reported */
	struct flow_conn conn; /* tuples, zone, mark */
	uint32_t status;       /* enum ct_status_bits */
	bool has_tcp_state;
	uint8_t tcp_state; /* enum ct_tcp_state (TCP with has_tcp_state) */
	bool has_timeout;
	uint32_t timeout;                /* seconds left */
	char helper[CT_HELPER_NAME_MAX]; /* with CT_ST_HELPER; "" when the name is unknown */
	/* Conntrack accounting (net.netfilter.nf_conntrack_acct=1): dumps carry it, events only
	 * on DESTROY. By enum flow_dir. */
	bool has_counters;
	uint64_t packets[2], bytes[2];
};

/* The name of a TCP state as conntrack(8) prints it ("ESTABLISHED"), "?" when unknown. */
const char *ct_tcp_state_name(unsigned state);

/* A one-line description of an event, conntrack(8)-like: "UPDATE tcp ESTABLISHED src=... dst=...
 * sport=... dport=... src=... dst=... sport=... dport=... [ASSURED] zone=0 mark=0 id=...". */
int ct_event_format(const struct ct_event *ev, char *buf, size_t len);

/*
 * Edge in: converts a libnetfilter_conntrack object. nfct_type is the enum
 * nf_conntrack_msg_type of the callback (NFCT_T_NEW / UPDATE / DESTROY; anything else is taken
 * as an UPDATE, e.g. a dump's entries). Returns 0, or -EINVAL when the object has no usable
 * tuples (family other than IPv4/IPv6, or missing addresses).
 */
int ct_event_from_nfct(int nfct_type, const struct nf_conntrack *ct, struct ct_event *ev);

/*
 * Edge in, without the library: converts one ctnetlink message (IPCTNL_MSG_CT_NEW: NEW with
 * NLM_F_CREATE or NLM_F_EXCL, else UPDATE; IPCTNL_MSG_CT_DELETE: DESTROY) of len bytes, giving
 * what ct_event_from_nfct gives for the library's parse of it. Returns 0, or -EINVAL when it is
 * not such a message, is malformed, or has no usable tuples.
 */
int ct_event_from_nlmsg(const void *nlh, size_t len, struct ct_event *ev);

/* Our status bits (enum ct_status_bits) of the kernel's IPS_* bits. */
uint32_t ct_status_from_ips(uint32_t ips);

/* ---- the connection table ---------------------------------------------------------------- */

/* The table's key: the original tuple and the zone. Compared as bytes: build it with
 * ct_key_from_conn (every byte set, IPv4 addresses zero-padded). */
struct ct_key {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t proto;
	uint16_t zone;
	uint16_t sport, dport; /* host order */
	union tc_addr src, dst;
};

void ct_key_from_conn(const struct flow_conn *c, struct ct_key *k);

enum ct_flow_state {
	CT_FLOW_CANDIDATE = 0,  /* tracked, not (yet) eligible or being installed */
	CT_FLOW_OFFLOADED,      /* both rules handed to the sink */
	CT_FLOW_REFUSED,        /* stays in software: see reason */
	CT_FLOW_PENDING_DELETE, /* rules being deleted */
	CT_FLOW_STATE_COUNT,
};

/* Why a connection stays in software. Each has a text (ct_reason_name) and, per flow, a
 * detail string kept in the engine's string pool. */
enum ct_reason {
	CT_R_NONE = 0,
	CT_R_FAMILY,        /* not IPv4/IPv6 */
	CT_R_PROTO,         /* not TCP/UDP */
	CT_R_TCP_STATE,     /* TCP not established yet */
	CT_R_TCP_CLOSING,   /* FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE */
	CT_R_NOT_ASSURED,   /* TCP not assured */
	CT_R_UDP_UNREPLIED, /* UDP without a reply yet */
	CT_R_HELPER,        /* helper attached */
	CT_R_SEQ_ADJUST,    /* sequence numbers adjusted */
	CT_R_NO_RULE,       /* no `flow add` rule (plan) applies */
	CT_R_SPEC,          /* outside the `flow add` rule's protocols/addresses/ports */
	CT_R_ZONE,          /* other conntrack zone */
	CT_R_MARK,          /* ct mark match fails */
	CT_R_IIF,           /* iif/iifname match fails */
	CT_R_OIF,           /* oif/oifname match fails */
	CT_R_EXCLUDED,      /* an earlier terminal rule (or a negation) keeps it in software */
	CT_R_PATH,          /* the path resolver found no usable path (route, neighbour...) */
	CT_R_RULE,          /* the rule cannot be built (PPPoE egress, VLAN...) */
	CT_R_PROFILE,       /* the hardware profile refuses the rule */
	CT_R_INSTALL,       /* the kernel / driver refused the install */
	CT_R_FULL,          /* table or hardware capacity reached */
	CT_R_POLICY,        /* waiting for the offload policy (min packets / bytes): transient */
	CT_R_IDLE,          /* its rules idled out; back when conntrack shows traffic: transient */
	CT_R_COUNT,
};

const char *ct_reason_name(enum ct_reason r); /* "tcp-closing", ... */

/*
 * One tracked connection: 120 bytes, kept in one dense array (no per-flow allocation);
 * pointers stay valid until the next insert or remove.
 */
struct ct_flow {
	struct ct_key key;                  /* original tuple + zone */
	union tc_addr reply_src, reply_dst; /* reply tuple (ports below) */
	uint16_t reply_sport, reply_dport;
	uint32_t id; /* conntrack id */
	uint32_t mark;
	uint32_t ifindex[2];    /* ingress device of each rule (by enum flow_dir) */
	uint32_t handle[2];     /* flower handle of each rule */
	uint32_t packets[2];    /* low 32 bits of each rule's packets at the last poll */
	uint32_t last_active_s; /* engine clock (s) when last seen carrying packets */
	union {
		uint32_t refreshed_s;   /* OFFLOADED: engine clock (s) of the last timeout refresh
		                         * (with CT_FF_REFRESHED) */
		uint32_t idle_expiry_s; /* CT_R_IDLE: engine clock at which conntrack's timeout runs
		                         * out if no packet comes (0 = not known yet) */
	};
	uint16_t detail;    /* string pool index of the reason's text; 0 = none */
	uint8_t state;      /* enum ct_flow_state */
	uint8_t reason;     /* enum ct_reason (with CT_FLOW_REFUSED / CANDIDATE) */
	uint8_t tcp_state;  /* last reported */
	uint8_t flags;      /* CT_FF_* */
	uint32_t path_hash; /* OFFLOADED: hash of the two paths installed (re-resolve) */
};

enum ct_flow_flags {
	CT_FF_KERNEL_OFFLOAD = 1 << 0, /* last event had IPS_OFFLOAD: timeout updates refused */
	CT_FF_ORIG_8021Q = 1 << 1,     /* rule protocols, for deletes */
	CT_FF_ORIG_8021AD = 1 << 2,
	CT_FF_REPLY_8021Q = 1 << 3,
	CT_FF_REPLY_8021AD = 1 << 4,
	CT_FF_REFRESHED = 1 << 5,   /* refreshed_s is set (cleared at each install) */
	CT_FF_TIMEOUT_SET = 1 << 6, /* ... by a refresh of ours: conntrack's timeout is known */
};

struct ct_table_counters {
	uint64_t flows[CT_FLOW_STATE_COUNT]; /* flows in each state now */
	uint64_t inserts, removes, full, lookups, probes;
};

struct ct_table;

/* A table sized for expected flows (it grows past that), holding at most max flows (0 = no
 * limit). NULL on allocation failure. */
struct ct_table *ct_table_new(size_t expected, size_t max);
void ct_table_free(struct ct_table *t);

struct ct_flow *ct_table_find(struct ct_table *t, const struct ct_key *k);
/* Finds or adds (zeroed, CANDIDATE, key set). NULL when full (counted) or out of memory. */
struct ct_flow *ct_table_insert(struct ct_table *t, const struct ct_key *k, bool *created);
bool ct_table_remove(struct ct_table *t, const struct ct_key *k);
void ct_table_set_state(struct ct_table *t, struct ct_flow *f, enum ct_flow_state s);

size_t ct_table_count(const struct ct_table *t);
struct ct_flow *ct_table_at(struct ct_table *t, size_t i); /* i < count; dense order */
const struct ct_table_counters *ct_table_counters(const struct ct_table *t);
/* Bytes the table holds now (entries + index + struct); per flow: divide by the count. */
size_t ct_table_bytes(const struct ct_table *t);

/* ---- eligibility --------------------------------------------------------------------------- */

/* One `flow add` rule's constraints, from the plan (plan_offload.elig of a flow-strategy
 * flowtable). The plan must outlive the engine's use of it. */
struct ct_elig_rule {
	const struct plan_eligibility *elig;
	const struct nft_rule *rule; /* the `flow add` rule, for texts */
	bool zone_set;               /* the rule matches `ct zone N` (elig->zone) */
};

/* Fills out[] (at most max) from a plan flowtable's accepted offloads; returns how many. */
size_t ct_elig_rules_from_plan(const struct plan_flowtable *pf, struct ct_elig_rule *out,
                               size_t max);

struct ct_verdict {
	enum ct_reason reason; /* CT_R_NONE = eligible */
	char text[256];        /* for `explain`: what, and why */
};

/*
 * Conntrack-side eligibility, as the kernel's nft_flow_offload does it: TCP established (or
 * OFFLOAD status), assured, not closing; UDP with a reply; no helper, no seq-adjust; other
 * protocols refused. Returns true when eligible.
 */
bool ct_elig_conn(const struct ct_event *ev, struct ct_verdict *v);

/*
 * The nft side: some rule must select the connection (zone, original-direction tuple as the
 * forward chain sees it, ct mark; with paths also iif/oif) and none of its exclusions (the
 * mirrored ones checked on the reply direction). paths may be NULL: interface matches are then
 * not checked (call again with the paths). Returns true when eligible.
 */
bool ct_elig_rules(const struct ct_elig_rule *rules, size_t n, const struct ct_event *ev,
                   const struct flow_path *paths, struct ct_verdict *v);

/* ---- the engine ------------------------------------------------------------------------------ */

/*
 * Resolves the forwarding path of one direction: packets from src to dst (dst is where they
 * are routed after DNAT: for the original direction the reply's source). Returns 0 with *out
 * filled, or a negative errno with a reason in why (no route, neighbour not valid, ...).
 */
typedef int (*ct_path_fn)(void *ctx, int family, const union tc_addr *src, const union tc_addr *dst,
                          struct flow_path *out, char *why, size_t len);

enum ct_op_kind {
	CT_OP_INSTALL = 1, /* rules[0..1]: replace both */
	CT_OP_DELETE,      /* rules[0..1]: ids only */
};

struct ct_op {
	enum ct_op_kind kind;
	const struct ct_key *key; /* the flow (valid during the call) */
	uint32_t ct_id;
	struct tc_rule rules[2]; /* by enum flow_dir */
	/* INSTALL of a TCP connection: conntrack stops seeing its segments, so its window
	 * tracking goes stale and the closing FIN would be INVALID (no state change, no NAT):
	 * the sink makes the entry's window tracking liberal (ct_set_tcp_liberal), as the
	 * kernel's flowtable and act_ct do. Measured in lab.conntrack_engine. */
	bool tcp_liberal;
	/* DELETE: each rule's packets (low 32 bits) at the last stats poll, so the sink can count
	 * what the rules carried after it */
	uint32_t packets_polled[2];
};

/*
 * Admission policy, asked right before an eligible connection's install (after the capacity
 * check, before path resolution): CT_R_NONE to go on, or the reason (with a text in why) to
 * keep it in software for now (CT_R_POLICY stays a candidate; others refuse it).
 */
typedef enum ct_reason (*ct_admit_fn)(void *ctx, const struct ct_event *ev, const struct ct_flow *f,
                                      char *why, size_t len);

/* Takes one operation: 0, or a negative errno (an install is then refused with
 * CT_R_INSTALL). A batching sink returns 0 and reports failures with ct_engine_failed. */
typedef int (*ct_sink_fn)(void *ctx, const struct ct_op *op);

struct ct_engine_opts {
	const struct ct_elig_rule *rules; /* the flowtable's `flow add` rules */
	size_t n_rules;
	const struct profile *profile; /* checked on every rule; NULL = no check */
	ct_path_fn path;
	void *path_ctx;
	ct_sink_fn sink;
	void *sink_ctx;
	struct flowrule_opts rule; /* chain, prio base, cookie, skip_sw, ttl_dec (handles are
	                            * allocated by the engine) */
	size_t expected_flows;     /* table sizing */
	size_t max_flows;          /* tracked connections; 0 = no limit */
	size_t max_offloaded;      /* 0 = the profile's capacity / 2 (two rules a flow), or none */
	/* idle handling (seconds): a flow whose rules carried nothing for idle_s is deleted
	 * (back to software, like the kernel flowtable's 30 s); while active, conntrack's
	 * timeout is refreshed to the protocol's value */
	uint32_t idle_s;
	uint32_t poll_s;        /* the stats poll's interval: a refresh is due one poll early (5) */
	uint32_t tcp_timeout_s; /* ESTABLISHED: 432000 (the kernel's default) */
	uint32_t udp_timeout_s; /* assured UDP stream: 120 */
	ct_admit_fn admit;      /* optional */
	void *admit_ctx;
};

/* Defaults: prio 0x2000, chain 0, ttl_dec on, idle 30 s, timeouts as above. */
void ct_engine_opts_init(struct ct_engine_opts *o);

struct ct_engine_counters {
	uint64_t events[4]; /* by enum ct_event_type */
	uint64_t installs, deletes, refusals[CT_R_COUNT], sink_errors, path_calls;
	uint64_t refreshes, refreshes_deferred, idle_expired, idle_resumed;
};

struct ct_engine;

/* Copies opts (the rules array, profile and plan must outlive the engine). With a profile
 * that lacks pedit_ttl (the PPE decrements TTL itself), ttl_dec is turned off. */
struct ct_engine *ct_engine_new(const struct ct_engine_opts *o);
void ct_engine_free(struct ct_engine *e);

/* Handles one event at engine time now_s (seconds, any monotonic origin). Returns 0, or
 * -ENOMEM. Refusals are not errors: they are recorded on the flow. */
int ct_engine_event(struct ct_engine *e, const struct ct_event *ev, uint32_t now_s);

/* A batching sink's late failure of an install: the flow's rules are deleted and it is
 * refused with CT_R_INSTALL and the message. */
void ct_engine_failed(struct ct_engine *e, const struct ct_key *k, int err, const char *msg);

struct ct_table *ct_engine_table(struct ct_engine *e);
const struct ct_engine_counters *ct_engine_counters(const struct ct_engine *e);

/* The text of a flow's state for `explain`: "offloaded", "refused: tcp state FIN_WAIT: ...". */
int ct_engine_explain(const struct ct_engine *e, const struct ct_flow *f, char *buf, size_t len);

/* Rule stats of one flow, as a poll got them (tc_rule_state of each rule). */
enum ct_stats_verdict {
	CT_STATS_IDLE = 0, /* no packets since the last poll, not yet past idle_s */
	CT_STATS_REFRESH,  /* carried packets: refresh conntrack's timeout (timeout_s) */
	CT_STATS_EXPIRED,  /* idle past idle_s: its rules were deleted (sink); the flow stays,
	                    * a candidate with CT_R_IDLE (ct_engine_idle_check) */
	CT_STATS_UNKNOWN,  /* not an offloaded flow of the table */
	CT_STATS_ACTIVE,   /* carried packets; the timeout set last is still far from running out */
};

/*
 * A conntrack entry (dump or get: ev->timeout set) of a flow idle with CT_R_IDLE. Packets that
 * bypass our rules raise no conntrack event, so a connection that resumes after its rules
 * idled out is found by its timeout: conntrack sets it again at each packet, so the seconds
 * left stop following the engine clock down from the value first seen. Returns -1 when the
 * entry is not of an idle flow (the caller treats it as usual), 0 while it stays idle (the
 * first call records the baseline), 1 when it resumed: it was offered again as an UPDATE
 * (ct_engine_event, so installed when still eligible).
 */
#define CT_IDLE_SLACK_S 2
int ct_engine_idle_check(struct ct_engine *e, const struct ct_event *ev, uint32_t now_s);

/* How long a timeout refresh holds before the next: a third of the timeout, at most
 * CT_REFRESH_MAX_S (the engine refreshes at the last poll before that: elapsed + poll_s + 1
 * reaching it). The cap is for what the kernel sets behind our back: a packet that still
 * takes the slow path with data in flight sets conntrack's timeout to
 * nf_conntrack_tcp_timeout_unacknowledged (300 s by default), not the established one. */
#define CT_REFRESH_MAX_S 100
uint32_t ct_refresh_interval(uint32_t timeout_s);
/* The stats poll's interval, once known (opts.poll_s). */
void ct_engine_set_poll_s(struct ct_engine *e, uint32_t poll_s);

struct ct_stats_item {
	struct ct_key key;
	struct tc_rule_state st[2]; /* by enum flow_dir; .valid false = not read */
	/* out */
	enum ct_stats_verdict verdict;
	uint32_t timeout_s; /* with REFRESH: the value to set (0 = do not: OFFLOAD status) */
};

/* Applies one poll's stats. Returns how many items need a refresh. */
size_t ct_engine_stats(struct ct_engine *e, struct ct_stats_item *items, size_t n, uint32_t now_s);

/*
 * After a network change: resolves an offloaded flow's paths again. Unchanged: nothing.
 * Changed: a DELETE of its rules, then a new INSTALL (new handles), or a refusal with
 * CT_R_PATH when it has no usable path any more (vanished device, neighbour gone). A flow
 * refused for CT_R_PATH, CT_R_RULE or CT_R_FULL is tried again. The flow's connection is
 * rebuilt from the table (assured, established). Returns 1 when operations were emitted or
 * the flow got offloaded, 0 when nothing changed.
 */
int ct_engine_reresolve(struct ct_engine *e, struct ct_flow *f, uint32_t now_s);

/* The connection of a tracked flow as an UPDATE event (tuples, zone, mark, id, TCP state;
 * status CONFIRMED | SEEN_REPLY | ASSURED, OFFLOAD with CT_FF_KERNEL_OFFLOAD). */
void ct_flow_to_event(const struct ct_flow *f, struct ct_event *ev);

/* The ids of a flow's two rules (what a stats get or a delete needs). */
void ct_engine_rule_ids(const struct ct_engine *e, const struct ct_flow *f, struct tc_id ids[2]);

/* Handles below next are taken (rules adopted after a restart): the engine allocates from next
 * on (never lowers its counter). */
void ct_engine_reserve_handles(struct ct_engine *e, uint32_t next);

/* ---- edges (libnetfilter_conntrack) ---------------------------------------------------------- */

/* Builds a libnetfilter_conntrack object for an event's tuples/zone/mark/status (for tests and
 * queries). The caller nfct_destroy()s it. NULL on allocation failure. */
struct nf_conntrack *ct_event_to_nfct(const struct ct_event *ev);

/* Sets the timeout of the connection with the original tuple + zone of key:
 * nfct_query(NFCT_Q_UPDATE) with ATTR_TIMEOUT (TCP: and the flags of ct_set_tcp_liberal, which
 * segments that reached the stack since may have undone). Returns 0 or a negative errno
 * (-EOPNOTSUPP for entries the kernel's flowtable holds, -ENOENT when gone or, for TCP, no
 * longer ESTABLISHED: a closing entry keeps the timeout of its state, see nfct.c). */
int ct_refresh_timeout(struct nfct_handle *h, const struct ct_key *key, uint32_t timeout_s);

/* Sets IP_CT_TCP_FLAG_BE_LIBERAL and clears IP_CT_TCP_FLAG_MAXACK_SET on both directions of
 * the TCP connection with the original tuple + zone of key (nfct_query NFCT_Q_UPDATE with
 * ATTR_TCP_FLAGS_ORIG/REPL and their masks), so that its closing FIN and RST change its state
 * although conntrack no longer sees its segments (nfct.c says why for the RST). Returns 0 or a
 * negative errno. */
int ct_set_tcp_liberal(struct nfct_handle *h, const struct ct_key *key);

/* Opens a conntrack event subscription (NFNLGRP_CONNTRACK_NEW | UPDATE | DESTROY). */
struct nfct_handle *ct_events_open(int *err);

/* Receives converted events (and dump entries, as UPDATEs). Return 0. */
typedef int (*ct_event_fn)(void *ctx, const struct ct_event *ev);

struct ct_handler {
	ct_event_fn fn;
	void *ctx;
	/* ct_events_read only, optional: events left to handle in this read, > 0 (decremented;
	 * the read returns -EAGAIN when it reaches 0, more events possibly queued) */
	unsigned *budget;
};

/* Sets the handler of a subscription's events (replacing an earlier one); hd must outlive
 * the registration. 0 or a negative errno. */
int ct_events_set_handler(struct nfct_handle *h, const struct ct_handler *hd);

/* Reads what is queued on a non-blocking event subscription, calling its handler per event
 * (hd: the handler set with ct_events_set_handler, for its budget; may be NULL).
 * Returns 0 once drained, -EAGAIN when the handler's budget ran out first (the rest waits for
 * the next read, so an event storm cannot hold the caller's loop), -ENOBUFS when the kernel
 * dropped events (receive buffer overrun: what was queued after it is still to be read), or
 * another negative errno. */
int ct_events_read(struct nfct_handle *h, const struct ct_handler *hd);

/* Dumps the conntrack table (both families, all zones) through a query handle
 * (nfct_open(CONNTRACK, 0)), each entry to hd as an UPDATE event (the handle's own callback
 * is replaced). 0 or a negative errno. */
int ct_dump(struct nfct_handle *h, const struct ct_handler *hd);

/* The same on a ctnetlink socket's fd: the request sent, every reply read and converted with
 * ct_event_from_nlmsg (entries it refuses are skipped). After an ENOBUFS the rest of the dump
 * is read and dropped, and -ENOBUFS returned. NOT used by the daemon yet: run on the query
 * handle's socket, the daemon stopped answering in it twice in lab.daemon_flow step 8 (a
 * resync dump after an event overrun), cause not found; ct_dump reads through the library. */
int ct_dump_fd(int fd, const struct ct_handler *hd);

#endif
