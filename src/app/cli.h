/* cli.h: the instant-ngp command line (instant-ngp's binary and scripts/run.py options together,
 * NGP-SPEC §9). Parsing is separate from acting so it can be tested and so that --help lists
 * exactly what is accepted. */
#ifndef NGP_APP_CLI_H
#define NGP_APP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes: 0 success, 1 any other failure, 2 usage error. */
enum { NGP_EXIT_OK = 0, NGP_EXIT_FAILURE = 1, NGP_EXIT_USAGE = 2 };

typedef enum { NGP_BACKEND_AUTO = 0, NGP_BACKEND_CPU, NGP_BACKEND_CUDA } ngp_backend_choice;

#define NGP_CLI_MAX_FRAMES 1024

typedef struct ngp_cli {
  const char *scene;  /* --scene, or a positional scene folder / transforms json */
  const char *config; /* --config, or a positional network-config json */
  const char *load_snapshot;
  const char *save_snapshot;
  const char *test_transforms;
  const char *screenshot_transforms;
  const char *screenshot_dir;
  bool info; /* --info: load, validate, summarise, exit */
  bool help;
  bool version;
  long n_steps;         /* -1: not given */
  double train_seconds; /* < 0: not given */
  int width, height;    /* 0: not given */
  int threads;          /* 0: all cores */
  uint64_t seed;
  bool has_seed;
  bool has_background;
  float background[3];
  bool transparent; /* --background transparent */
  ngp_backend_choice backend;
  long batch_samples; /* --batch-size: target samples per step; 0: default */
  int error_map;      /* --error-map on|off: 1, 0; -1 (default): the backend's */
  int spp;            /* --screenshot-spp / test: samples per pixel; 0: default */
  int gui;            /* -1: default (a window when the build has a viewer and a display works),
                         0: --no-gui, 1: --gui (a window or an error) */
  bool doctor;        /* --doctor or the `doctor` command */
  /* Renders and outputs (issue 16). */
  const char *render_mode;                   /* --render-mode, as given (checked); NULL: shade */
  int screenshot_frames[NGP_CLI_MAX_FRAMES]; /* --screenshot-frames I,J,... */
  int n_screenshot_frames;                   /* 0: not given (every frame) */
  double near_distance;                      /* --near-distance, ngp units; < 0: not given */
  double exposure;                           /* --exposure, stops (0) */
  double sharpen;                            /* --sharpen, [0, 1] (0) */
  bool has_crop_box;
  float crop_box[6];        /* --crop-box MINX,MINY,MINZ,MAXX,MAXY,MAXZ, scene coordinates */
  const char *log;          /* --log FILE: .csv or .jsonl */
  const char *metrics_json; /* --metrics-json FILE */
  /* Videos (run.py's --video_*): a camera path file or an orbit; see engine/video.h. */
  const char *video_camera_path; /* --video-camera-path, or a positional camera path .json */
  double video_orbit;            /* --video-orbit TURNS; 0: not given */
  double video_n_seconds;        /* 0: not given */
  double video_fps;              /* 0: not given */
  int video_spp;                 /* 0: not given */
  const char *video_output;      /* NULL: video.mp4 */
  int video_first, video_last;   /* --video-render-range; -1: not given */
  bool video_smoothing;          /* --video-camera-smoothing */

  /* Meshes: --save-mesh (a .ply or .obj file), --marching-cubes-res (0: the default, 256) and
   * --marching-cubes-density-thresh (when has_mc_thresh). */
  const char *save_mesh;
  int mc_res;
  bool has_mc_thresh;
  float mc_thresh;
} ngp_cli;

/* Parses argv. On a usage error returns NGP_EXIT_USAGE with one line in msg. */
int ngp_cli_parse(int argc, char **argv, ngp_cli *cli, char *msg, size_t msg_size);
void ngp_cli_print_help(const char *argv0);

/* --info: loads and validates the scene and config, prints the summary. Returns an exit code. */
int ngp_cli_info(const ngp_cli *cli);
/* Training, snapshots, test views and screenshots. Returns an exit code. */
int ngp_cli_run(const ngp_cli *cli);
/* What follows training, headless (ngp_cli_run) or in the viewer (once its training thread is
 * joined): saves --save-snapshot atomically with the EMA weights synced (else only syncs them),
 * then prints the --test-transforms evaluation ("PSNR=...") and writes --screenshot-transforms
 * into --screenshot-dir. After SIGINT or SIGTERM it only saves the snapshot (not for a fresh model
 * that has not trained a step) and returns NGP_EXIT_INTERRUPTED (130); after a failed step
 * (s->step_failed), or when every one of the `steps` trained in this session was skipped as
 * non-finite, it saves nothing and fails. Returns an exit code. */
struct ngp_session;
int ngp_cli_finish(const ngp_cli *cli, struct ngp_session *s, long steps);

/* The viewer (src/viewer, built with NGP_BUILD_VIEWER, which defines NGP_HAVE_VIEWER): a window
 * that trains and renders live. Returns an exit code, or NGP_GUI_UNAVAILABLE after printing one
 * line saying why no window could be opened (no display, GLFW failed) when cli->gui is not 1;
 * the caller then runs headless. */
#define NGP_GUI_UNAVAILABLE (-1)
int ngp_gui_run(const ngp_cli *cli);
/* The viewer's keys and mouse bindings for --help, one per line, indented by two spaces. */
void ngp_gui_print_controls(void);

/* Whether a video is asked for (--video-camera-path or --video-orbit). */
bool ngp_cli_wants_video(const ngp_cli *cli);
/* Reads the video's camera path (or places its orbit) and checks the video options against it,
 * before any training: a bad path file fails (1) and a frame range past the end is a usage error
 * (2) at once. Returns an exit code. */
int ngp_cli_video_check(const ngp_cli *cli);
/* Renders the video of cli on the session (after training). Returns an exit code. */
int ngp_cli_video(const ngp_cli *cli, struct ngp_session *s);

/* --doctor: what the GPU and display paths need and what this machine has. Exit 0 when the
 * selected backend works. */
int ngp_cli_doctor(const ngp_cli *cli);
#endif
