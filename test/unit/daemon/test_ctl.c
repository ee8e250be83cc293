/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control socket (server on the loop, client) and the explain tuple parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nft-tc-offload/ctl.h"
#include "nft-tc-offload/daemon.h"
#include "nft-tc-offload/loop.h"

static void test_split(void **state)
{
	char line[] = "  explain tcp\t10.0.0.1 1  10.0.0.2 2 \r\n";
	char empty[] = "   ";
	char many[] = "a b c d";
	char *argv[8];

	assert_int_equal(ctl_split(line, argv, 8), 6);
	assert_string_equal(argv[0], "explain");
	assert_string_equal(argv[2], "10.0.0.1");
	assert_string_equal(argv[5], "2");
	assert_int_equal(ctl_split(empty, argv, 8), -1);
	assert_int_equal(ctl_split(many, argv, 3), -1);
}

static void test_tuple(void **state)
{
	char *ok4[] = {"10.0.1.2", "10.0.2.2", "tcp", "40000", "5201"};
	char *ok6[] = {"fd00:1::2", "fd00:2::2", "udp", "0", "65535"};
	char *mixed[] = {"10.0.1.2", "fd00::1", "tcp", "1", "2"};
	char *proto[] = {"10.0.1.2", "10.0.2.2", "icmp", "1", "2"};
	char *port[] = {"10.0.1.2", "10.0.2.2", "tcp", "65536", "2"};
	char *neg[] = {"10.0.1.2", "10.0.2.2", "tcp", "-1", "2"};
	char *old[] = {"tcp", "10.0.1.2", "40000", "10.0.2.2", "5201"};
	struct plan_query q;
	struct plan_tuple dir = {0};
	char err[256], text[128];
	struct in_addr a;

	assert_int_equal(daemon_parse_tuple(5, ok4, &q, err, sizeof(err)), 0);
	assert_int_equal(q.t.family, AF_INET);
	assert_int_equal(q.t.proto, IPPROTO_TCP);
	assert_int_equal(q.t.sport, 40000);
	assert_int_equal(q.t.dport, 5201);
	assert_true(q.has_ports);
	inet_pton(AF_INET, "10.0.2.2", &a);
	assert_memory_equal(&q.t.daddr, &a, 4);
	plan_query_format(&q, text, sizeof(text));
	assert_string_equal(text, "10.0.1.2 10.0.2.2 tcp 40000 5201");

	/* the query selects one direction exactly; a partial query any protocol / ports */
	dir = q.t;
	assert_true(plan_query_match(&q, &dir));
	dir.sport = 40001;
	assert_false(plan_query_match(&q, &dir));
	assert_int_equal(daemon_parse_tuple(3, ok4, &q, err, sizeof(err)), 0);
	assert_false(q.has_ports);
	assert_true(plan_query_match(&q, &dir));
	dir.proto = IPPROTO_UDP;
	assert_false(plan_query_match(&q, &dir));
	assert_int_equal(daemon_parse_tuple(2, ok4, &q, err, sizeof(err)), 0);
	assert_int_equal(q.t.proto, 0);
	assert_true(plan_query_match(&q, &dir));
	plan_query_format(&q, text, sizeof(text));
	assert_string_equal(text, "10.0.1.2 10.0.2.2");
	dir.saddr = dir.daddr; /* another source */
	assert_false(plan_query_match(&q, &dir));

	assert_int_equal(daemon_parse_tuple(5, ok6, &q, err, sizeof(err)), 0);
	assert_int_equal(q.t.family, AF_INET6);
	assert_int_equal(q.t.proto, IPPROTO_UDP);
	assert_int_equal(q.t.dport, 65535);
	assert_int_equal(daemon_parse_tuple(5, mixed, &q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "one family"));
	assert_int_equal(daemon_parse_tuple(5, proto, &q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tcp or udp"));
	assert_int_equal(daemon_parse_tuple(5, port, &q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "65536"));
	assert_int_equal(daemon_parse_tuple(5, neg, &q, err, sizeof(err)), -EINVAL);
	assert_int_equal(daemon_parse_tuple(4, ok4, &q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "SADDR DADDR [PROTO [SPORT DPORT]]"));
	assert_int_equal(daemon_parse_tuple(1, ok4, &q, err, sizeof(err)), -EINVAL);
	assert_int_equal(daemon_parse_tuple(5, old, &q, err, sizeof(err)), -EINVAL);
}

struct srv {
	int requests;
};

static json_t *handler(void *ctx, int argc, char **argv, char *err, size_t errlen)
{
	struct srv *s = ctx;

	s->requests++;
	if (!strcmp(argv[0], "echo")) {
		json_t *a = json_array();

		for (int i = 1; i < argc; i++)
			json_array_append_new(a, json_string(argv[i]));
		return json_pack("{s:o}", "args", a);
	}
	snprintf(err, errlen, "unknown request \"%s\"", argv[0]);
	return NULL;
}

/* Runs the client in a child (it blocks) while the parent serves on the loop. */
static int client_in_child(const char *path, const char *req, const char *expect)
{
	pid_t pid = fork();

	if (pid == 0) {
		char err[256];
		json_t *r = ctl_request(path, req, 5000, err, sizeof(err));
		char *text = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		int ok = text && strcmp(text, expect) == 0;

		if (!ok)
			fprintf(stderr, "got %s (%s), expected %s\n", text ? text : "NULL", err,
			        expect);
		_exit(ok ? 0 : 1);
	}
	return pid;
}

static void serve_until(struct ev_loop *loop, pid_t pid, int *status)
{
	for (int i = 0; i < 500; i++) {
		ev_loop_run_once(loop, 10);
		if (waitpid(pid, status, WNOHANG) == pid)
			return;
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	fail_msg("client did not finish");
}

static void test_roundtrip(void **state)
{
	char dir[] = "/tmp/nto-ctl-test.XXXXXX";
	char path[256], err[256];
	struct ev_loop *loop = ev_loop_new();
	struct srv s = {0};
	struct ctl_server *srv, *second;
	struct ctl_server_opts o = {.mode = 0600, .handler = handler, .ctx = &s};
	struct stat st;
	int status;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	/* the socket's directory is created when missing */
	snprintf(path, sizeof(path), "%s/sub/ctl.sock", dir);
	o.path = path;
	assert_int_equal(ctl_server_open(&srv, loop, &o, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second server on a live socket is refused */
	assert_int_equal(ctl_server_open(&second, loop, &o, err, sizeof(err)), -EADDRINUSE);

	pid = client_in_child(path, "echo a  b", "{\"args\":[\"a\",\"b\"],\"ok\":true}");
	serve_until(loop, pid, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pid = client_in_child(path, "bogus",
	                      "{\"error\":\"unknown request \\\"bogus\\\"\",\"ok\":false}");
	serve_until(loop, pid, &status);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(s.requests, 2);

	ctl_server_close(srv);
	assert_int_not_equal(access(path, F_OK), 0);
	/* no daemon: the client says so */
	assert_null(ctl_request(path, "echo", 1000, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot reach the daemon"));

	/* a stale socket file (nobody answering) is replaced */
	{
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		assert_true(strlen(path) < sizeof(a.sun_path));
		memcpy(a.sun_path, path, strlen(path) + 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
	}
	o.mode = 0660;
	assert_int_equal(ctl_server_open(&srv, loop, &o, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	ctl_server_close(srv);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_tuple),
	    cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
