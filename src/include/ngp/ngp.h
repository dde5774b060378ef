/* ngp/ngp.h: the public C API of instant-ngp (some-pkgs), in one include.
 *
 * Usage:
 *   #include <ngp/ngp.h>
 *
 *   ngp_error err;
 *   ngp_scene_options so;
 *   ngp_scene_options_default(&so);
 *   ngp_scene scene;
 *   if (ngp_scene_load("data/nerf/fox", &so, &scene, &err) != NGP_OK) {
 *     fprintf(stderr, "%s\n", err.msg);  // names the file and the field, with a hint
 *     return 1;
 *   }
 *   ngp_config cfg;
 *   if (ngp_config_load("configs/nerf/base.json", &cfg, &err) != NGP_OK) { ... }
 *   ...
 *   ngp_scene_free(&scene);
 *
 * Training and rendering are not public API yet: the engine (src/engine: the backend interface
 * and the session) and the models behind it are internal to this repository and change without
 * notice; programs outside it use the instant-ngp command line.
 *
 * Headers: common.h (status, errors, logging), image.h (RGBA8 images), scene.h (transforms.json),
 * config.h (network configs), synth.h (the analytic test scene). Link with pkg-config's `ngp`. */
#ifndef NGP_NGP_H
#define NGP_NGP_H

#include "ngp/common.h"
#include "ngp/config.h"
#include "ngp/image.h"
#include "ngp/scene.h"
#include "ngp/synth.h"

#endif
