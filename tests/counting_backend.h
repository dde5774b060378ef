/* counting_backend.h: a test backend, "counting", that forwards every call to the CPU backend and
 * counts them, so a test can prove that a program's renders and steps go through the backend
 * interface (engine/backend.h). Register it with ngp_backend_register(&ngp_counting_backend_type). */
#ifndef NGP_TESTS_COUNTING_BACKEND_H
#define NGP_TESTS_COUNTING_BACKEND_H

#include "engine/backend.h"

extern const ngp_backend_type ngp_counting_backend_type;

/* The calls made so far to one function of an instance ("train_step", "render", "render_pixels",
 * "publish", "acquire", "download", "upload", "density", "synchronize"); -1 for another name. */
long ngp_counting_backend_calls(const ngp_backend *b, const char *op);
/* One line: "backend calls: train_step N, render N, ...". */
void ngp_counting_backend_print(const ngp_backend *b);

#endif
