/* colmap_run.h: the stages of ngp-colmap2nerf that drive other programs: ffmpeg (frames from a
 * video) and colmap (features, matches, the sparse model, its text form). Each stage prints one
 * line with its time when done; the programs' own output goes to a log file. A failure fills err
 * with the stage that failed and why, with a hint (how to install a missing program; what helps
 * when too few images were registered). */
#ifndef NGP_TOOLS_COLMAP_RUN_H
#define NGP_TOOLS_COLMAP_RUN_H

#include "ngp/common.h"

typedef struct colmap_run_options {
  const char *images;        /* the image folder (ffmpeg writes it, colmap reads it) */
  const char *text;          /* the folder the text model goes to */
  const char *db;            /* colmap's database file; the sparse models go to <db without .ext>_sparse */
  const char *matcher;       /* exhaustive, sequential, spatial, transitive, vocab_tree */
  const char *vocab_path;    /* for vocab_tree */
  const char *camera_model;  /* COLMAP's name */
  const char *camera_params; /* "" or comma-separated */
  const char *video_in;      /* "" or NULL: no video */
  double video_fps;
  const char *time_slice; /* "" or "t1,t2" seconds */
  const char *log_path;   /* the programs' output, appended */
  bool overwrite;         /* replace a database, models and video frames already there */
  bool guided_matching;   /* COLMAP's guided matching (colmap2nerf.py's choice) */
  bool use_gpu;           /* SIFT on the GPU */
  bool quiet;
} colmap_run_options;

/* The program's path found on PATH, or NULL (malloc'd). */
char *colmap_run_find_program(const char *name);

/* Frames from the video into opts->images (%04d.jpg). */
ngp_status colmap_run_ffmpeg(const colmap_run_options *opts, ngp_error *err);
/* colmap end to end: features, matches, mapping, then the largest model to text in opts->text.
 * *n_registered / *n_images: the images in that model and in the folder. */
ngp_status colmap_run_colmap(const colmap_run_options *opts, int *n_registered, int *n_images, ngp_error *err);

#endif
