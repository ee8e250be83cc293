/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's configuration: defaults, every key, errors with their lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nft-tc-offload/config.h"

static void test_defaults(void **state)
{
	struct config c;
	char err[512];

	config_defaults(&c);
	assert_string_equal(c.source, "kernel");
	assert_string_equal(c.control_socket, "/run/nft-tc-offload/control.sock");
	assert_int_equal(c.control_mode, 0600);
	assert_int_equal(c.on_stop, CONFIG_STOP_REMOVE);
	assert_true(c.ct_nat);
	assert_false(c.ct_zone_set);
	/* An empty file is the defaults; so is a missing default file. */
	assert_int_equal(config_parse("", "empty.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "kernel");
	assert_int_equal(
	    config_load("/nonexistent/nft-tc-offload.conf", true, &c, err, sizeof(err)), 0);
	assert_int_equal(
	    config_load("/nonexistent/nft-tc-offload.conf", false, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/nft-tc-offload.conf: error: cannot open"));
}

static void test_every_key(void **state)
{
	static const char text[] = "# a full configuration\n"
	                           "[daemon]\n"
	                           "source = /etc/nftables.conf\n"
	                           "profile_dir = /usr/local/etc/profiles\n"
	                           "control_socket = /run/nto.sock\n"
	                           "control_mode = 0660\n"
	                           "control_group = netops\n"
	                           "log_level = debug\n"
	                           "stats_interval_ms = 2000\n"
	                           "debounce_ms = 250\n"
	                           "on_stop = keep\n"
	                           "rcvbuf_max_kb = 4096\n"
	                           "\n"
	                           "[ct]\n"
	                           "zone = 5\n"
	                           "nat = no\n"
	                           "[flow]\n"
	                           "min_packets = 10\n"
	                           "min_bytes = 1500\n"
	                           "max_flows = 8000\n"
	                           "prefer = none\n"
	                           "[device pf0vf0_rep]\n"
	                           "profile = mlx5\n"
	                           "[device \"wan\"]\n"
	                           "profile = none\n";
	struct config c;
	char err[512] = "";

	config_defaults(&c);
	assert_int_equal(config_parse(text, "full.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "/etc/nftables.conf");
	assert_string_equal(c.profile_dir, "/usr/local/etc/profiles");
	assert_string_equal(c.control_socket, "/run/nto.sock");
	assert_int_equal(c.control_mode, 0660);
	assert_string_equal(c.control_group, "netops");
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.stats_interval_ms, 2000);
	assert_int_equal(c.debounce_ms, 250);
	assert_int_equal(c.on_stop, CONFIG_STOP_KEEP);
	assert_int_equal(c.rcvbuf_max_kb, 4096);
	assert_true(c.ct_zone_set);
	assert_int_equal(c.ct_zone, 5);
	assert_false(c.ct_nat);
	assert_int_equal(c.flow_min_packets, 10);
	assert_int_equal(c.flow_min_bytes, 1500);
	assert_int_equal(c.flow_max, 8000);
	assert_false(c.flow_tcp_first);
	assert_int_equal(c.n_devices, 2);
	assert_string_equal(c.devices[0].name, "pf0vf0_rep");
	assert_string_equal(c.devices[0].profile, "mlx5");
	assert_int_equal(c.devices[0].line, 22);
	assert_string_equal(c.devices[1].name, "wan");
	assert_string_equal(c.devices[1].profile, "none");
}

static void expect_error(const char *text, const char *want)
{
	struct config c;
	char err[512] = "";

	config_defaults(&c);
	assert_int_equal(config_parse(text, "bad.conf", &c, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_errors(void **state)
{
	expect_error("[daemon]\nsoure = kernel\n", "bad.conf:2: error: unknown key \"soure\"");
	expect_error("\n\n[deamon]\n", "bad.conf:3: error: unknown section [deamon]");
	expect_error("[daemon]\nsource = relative.nft\n", "bad.conf:2: error: source:");
	expect_error("[daemon]\nlog_level = loud\n", "bad.conf:2: error: log_level:");
	expect_error("[daemon]\ncontrol_mode = 0777\n", "bad.conf:2: error: control_mode:");
	expect_error("[daemon]\ncontrol_mode = rw\n", "bad.conf:2: error: control_mode:");
	expect_error("[daemon]\n\nstats_interval_ms = -5\n",
	             "bad.conf:3: error: stats_interval_ms: \"-5\" is not a number");
	expect_error("[daemon]\non_stop = maybe\n", "bad.conf:2: error: on_stop: remove or keep");
	expect_error("[daemon]\nrcvbuf_max_kb = 16\n", "bad.conf:2: error: rcvbuf_max_kb:");
	expect_error("[ct]\nzone = 70000\n", "bad.conf:2: error: zone:");
	expect_error("[ct]\nnat = perhaps\n", "bad.conf:2: error: nat: yes or no");
	expect_error("[flow]\nprefer = udp\n", "bad.conf:2: error: prefer:");
	expect_error("source = kernel\n", "bad.conf:1: error: \"source\" outside a section");
	expect_error("[device averyveryverylongname]\n", "bad.conf:1: error: [device NAME]");
	expect_error("[device eth0]\nprofile = mlx5\n[device eth0]\n",
	             "bad.conf:3: error: [device eth0] already given at line 1");
	expect_error("[device eth0]\nzone = 1\n", "bad.conf:2: error: unknown key \"zone\"");
	expect_error("[daemon]\nthis is not ini\n", "bad.conf:2: error: syntax error");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/nto-config-XXXXXX";
	struct config c;
	char err[512] = "";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[ct]\nzone = 7\n[flow]\nbogus = 1\n", 31), 31);
	close(fd);
	assert_int_equal(config_load(path, false, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":4: error: unknown key \"bogus\" in [flow]"));
	assert_non_null(strstr(err, path));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
