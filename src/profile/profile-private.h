/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the profile module's files; not part of the public API. */
#ifndef NTO_PROFILE_PRIVATE_H
#define NTO_PROFILE_PRIVATE_H

#include <stdint.h>

/* stats_interval_ms when a profile does not set it */
#define PROFILE_DEFAULT_STATS_MS 1000

/* "trk" → TC_CT_TRACKED etc.; 0 for an unknown name. */
uint16_t profile_ct_flag_bit(const char *name);

/* TC_CT_TRACKED → "trk"; NULL for anything but a single known bit. */
const char *profile_ct_flag_name(uint16_t bit);

#endif
