/*
 * faults.h: fault injection for the tests.  Only the test build reads the
 * knobs below from the environment: build/faults/medusa-worker, compiled
 * with -DMEDUSA_FAULTS (see the Makefile) and named by the tests that need
 * it as their worker_path.  Every use is inside #ifdef MEDUSA_FAULTS, so
 * the worker everyone runs has no such switches, nor their code.
 *
 *	MEDUSA_FAULT_HANDIN_CRASH=N	a successor abort()s when it has
 *					resumed N handed-in sessions
 *	MEDUSA_FAULT_HANDIN_STOP=N	a successor stops itself (SIGSTOP)
 *					there, once, for a test to resume
 *	MEDUSA_FAULT_CTL_QMAX=BYTES	the bound of the control channel's
 *					queue (default WORKER_CTL_QMAX); it
 *					must hold one STATUS_REPLY chunk
 */
#ifndef MEDUSA_FAULTS_H
#define MEDUSA_FAULTS_H

#ifdef MEDUSA_FAULTS
#include <stdlib.h>

/* The knob's value, or -1 if it is not set. */
static inline long
fault_knob(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0' ? strtol(v, NULL, 10) : -1);
}
#endif

#endif
