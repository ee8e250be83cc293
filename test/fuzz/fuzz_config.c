/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's configuration parser: config_parse() on the input as text (a NUL-terminated
 * copy: the input may hold NULs of its own). On success every string field must be terminated
 * and the device table within bounds; on failure the error must be one terminated line.
 */
#include <string.h>

#include "fuzz.h"
#include "nft-tc-offload/config.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

int nto_fuzz_config(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	char *text;

	if (size > 65536)
		return 0;
	text = fuzz_strdup(data, size);
	if (!text)
		return 0;
	config_defaults(&c);
	err[0] = '\0';
	if (config_parse(text, "fuzz.conf", &c, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0' && TERMINATED(err));
	} else {
		FUZZ_CHECK(TERMINATED(c.source) && TERMINATED(c.profile_dir) &&
		           TERMINATED(c.control_socket) && TERMINATED(c.control_group));
		FUZZ_CHECK(c.n_devices <= CONFIG_MAX_DEVICES);
		for (size_t i = 0; i < c.n_devices; i++)
			FUZZ_CHECK(TERMINATED(c.devices[i].name) &&
			           TERMINATED(c.devices[i].profile));
		(void)log_level_name(c.log_level);
	}
	free(text);
	return 0;
}

#ifndef NTO_FUZZ_NO_ENTRY
NTO_FUZZ_ENTRY(nto_fuzz_config)
#endif
