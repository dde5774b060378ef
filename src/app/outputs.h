/* outputs.h: checks of a run's outputs made before any work (outputs.c). Each prints its error
 * line and returns an exit code. */
#ifndef NGP_APP_OUTPUTS_H
#define NGP_APP_OUTPUTS_H

#include "app/cli.h"
#include "engine/session.h"

/* Every output of the command line can be written: 2 for a bad name, 1 with the reason. */
int ngp_cli_check_outputs(const ngp_cli *cli);
/* No output would write over a file the run reads (the scene's transforms and images, the config,
 * the test and screenshot transforms): 1 naming both. Call once the session is open. */
int ngp_cli_check_overwrites(const ngp_cli *cli, const ngp_session *s);
/* Prints a note when the run trains but nothing it makes will be written. */
void ngp_cli_say_unsaved(const ngp_cli *cli);

#endif
