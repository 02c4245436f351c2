/* SPDX-License-Identifier: Apache-2.0 */
/* Test mode: built only with -DNBMOUNT_TEST_MODE (build/test-mode/nbmount, for
 * tests/sandbox-check.sh), never in the nbmount that ships. It lets a test make the sandboxed
 * settings parser and the hardened hook attempt what they must not be able to do, and report what
 * they hold. Without NBMOUNT_TEST_MODE every function below is an empty inline.
 *
 * The settings parser (sandbox.c) obeys a first line of settings.yaml
 *     # nbmount-test-sandbox: ACTION
 * with ACTION one of open, socket, execve (each must kill the child with SIGSYS), status (the child
 * answers its Uid, Gid, Groups, capabilities, NoNewPrivs and Seccomp as its error), memory (allocates
 * until it cannot), cpu (spins), hang (blocks in read(), using no CPU), bad-answer (answers settings
 * that break the rules).
 *
 * The hook (harden.c) obeys NBMOUNT_TEST_HARDEN=ACTION in its initial environment (read from
 * /proc/self/environ: main() clears environ), with ACTION one of execve, socket-inet, socket-inet6,
 * socket-netlink, socket-unix, mount (mount(2) of each kind), status: after hardening it tries that
 * and fails the start with what happened, e.g. "test mode: execve(/bin/true): Operation not
 * permitted"; or without:CAP_NAME: it drops that capability too and goes on (to show that the hook
 * needs it); or walk-die:N: a tree walk (quotatree.c) exits the hook at once, as if killed, when its
 * first pass comes to its Nth folder or file. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "settings.h"

#ifdef NBMOUNT_TEST_MODE

/* In the child, after its fds are closed and before it drops privileges: reads the marker (pread,
 * the offset stays) and prepares (status and hang put another file in place of input_fd). */
void testmode_sandbox_prepare(int input_fd);

/* In the child, inside the sandbox, before parsing: 0 to parse as usual, or -errno with err set
 * (the child's answer). open, socket and execve do not come back. */
int testmode_sandbox_act(int input_fd, struct nb_error *err);

/* In the child, after a successful parse: bad-answer turns the first mount's name into "../etc",
 * which the parent must refuse. */
void testmode_sandbox_answer(struct settings *settings);

/* In the hook, before and after hardening; without() is true for the capability of
 * NBMOUNT_TEST_HARDEN=without:CAP_NAME, which the hook then drops too. */
void testmode_harden_prepare(void);
bool testmode_harden_without(int cap);
int testmode_harden_act(struct nb_error *err);

/* In a tree walk's first pass, at each folder and file. */
void testmode_walk_step(void);

#else

static inline void testmode_sandbox_prepare(int input_fd) { (void) input_fd; }
static inline int testmode_sandbox_act(int input_fd, struct nb_error *err) {
        (void) input_fd;
        (void) err;
        return 0;
}
static inline void testmode_sandbox_answer(struct settings *settings) { (void) settings; }
static inline void testmode_harden_prepare(void) {}
static inline bool testmode_harden_without(int cap) {
        (void) cap;
        return false;
}
static inline int testmode_harden_act(struct nb_error *err) {
        (void) err;
        return 0;
}
static inline void testmode_walk_step(void) {}

#endif
