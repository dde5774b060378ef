/* app.h: what the command line adds around an engine session (engine/session.h): signals, the
 * error line, and the translation of the command line into session options. */
#ifndef NGP_APP_APP_H
#define NGP_APP_APP_H

#include "app/cli.h"
#include "engine/mesh.h"
#include "engine/session.h"

/* SIGINT and SIGTERM: the first sets a flag that training loops poll (stop after the current
 * step, save, exit 130); a second one removes any half-written temporary file and exits at once
 * with 130, leaving every existing file as it was. */
#define NGP_EXIT_INTERRUPTED 130
void ngp_app_catch_interrupts(void);
/* The signal that asked to stop (SIGINT, SIGTERM), or 0. */
int ngp_app_interrupted(void);

/* Prints "instant-ngp: error: MSG" on stderr and returns NGP_EXIT_FAILURE. */
int ngp_app_fail(const char *msg);

/* The session options the command line asks for (train: whether steps will be run). */
void ngp_app_session_opts(const ngp_cli *cli, bool train, ngp_session_opts *o);
/* The mesh options the command line asks for (--marching-cubes-*), with a progress line. */
void ngp_app_mesh_opts(const ngp_cli *cli, ngp_mesh_opts *o);

#endif
