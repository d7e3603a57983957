/* SPDX-License-Identifier: MIT */
/*
 * The command's helpers as tools/ctl/bench.c uses them, until bench.c moves
 * to tools/bench/.
 */
#ifndef PINSHM_CTL_H
#define PINSHM_CTL_H

#include "cmd.h"

#endif /* PINSHM_CTL_H */
