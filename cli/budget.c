/*
 * budget: see budget.h. This file reads the wall clock (through the
 * kernel's timer); the simulation only sees the flag.
 */
#include "cli/budget.h"
#include "sim/duration.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t budget_spent;
/* Names the bound in the error: "the run's wall-clock budget (--timeout 5s)". */
static char budget_name[96];

static void on_alarm(int sig)
{
    (void)sig;
    budget_spent = 1;
}

void budget_arm(run_options *opt, int64_t timeout_us)
{
    if (timeout_us <= 0)
        return;
    char text[DURATION_TEXT_MAX];
    snprintf(budget_name, sizeof budget_name, "the run's wall-clock budget (--timeout %s)",
             duration_human(timeout_us, text, sizeof text));
    budget_spent = 0;
    /* SA_RESTART: a system call the alarm interrupts (SQLite's I/O) carries on. */
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_value = { .tv_sec = (time_t)(timeout_us / 1000000),
                                          .tv_usec = (suseconds_t)(timeout_us % 1000000) } };
    setitimer(ITIMER_REAL, &it, NULL);
    opt->cancel = &budget_spent;
    opt->cancel_bound = budget_name;
}

void budget_disarm(void)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
}
