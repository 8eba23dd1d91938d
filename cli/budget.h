/*
 * budget: --timeout, a wall-clock budget for one run.
 *
 * The command line arms a real-time interval timer (setitimer); its SIGALRM
 * handler only sets a flag. The world is handed that flag, and nothing
 * else, as run_options.cancel: its event loop stops with the bound error
 * "bound exceeded: the run's wall-clock budget (--timeout 5s)" once the flag
 * is set (exit 2, as every bound). The simulation never reads a clock, so a
 * run that ends within its budget is exactly the run it would be without
 * one, trace hash included.
 *
 * One budget at a time per process: a worker process arms it for each job.
 */
#ifndef CLI_BUDGET_H
#define CLI_BUDGET_H

#include "sim/world.h"

#include <stdint.h>

/*
 * Start a budget of timeout_us (> 0) and point opt's cancel flag and bound
 * name at it. With timeout_us 0 it does nothing: no budget.
 */
void budget_arm(run_options *opt, int64_t timeout_us);
/* Stop the timer (the flag keeps its value until the next budget_arm). */
void budget_disarm(void);

#endif
