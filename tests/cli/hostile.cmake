# The hostile-input catalogue (issue 19): inputs that are not regular files (FIFOs, devices,
# symlink loops, folders where files go) in every place a file is read; outputs that cannot be
# written, checked before the first step; outputs that would overwrite inputs; one rule for
# --n-steps 0 and --train-seconds 0; JSON nested past the reader's limit and duplicate keys;
# screenshot names that collide; interrupts in every long phase. Included at the end of
# catalogue.cmake. A test that would hang before its fix (a FIFO opened for reading) has a
# TIMEOUT, so a regression fails instead of blocking the run.
set(HOST ${CAT}/hostile)
add_test(NAME cli_hostile_setup COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/hostile_setup.sh ${HOST} ${BAD})
set_tests_properties(cli_hostile_setup PROPERTIES FIXTURES_SETUP hostile LABELS cli)
# Each test gets a TIMEOUT: one that would hang before its fix (a FIFO opened for reading) or train
# for long (an output checked late) then fails instead of blocking the run.
function(hostile_test name)
  ngp_cli_test(${name} ${ARGN})
  set_tests_properties(cli_${name} PROPERTIES TIMEOUT 60)
endfunction()
# A small, fast training run: the one-image scene copy, the fuzzers' tiny network, one thread.
set(TINY "${HOST}/scene/rgba.json|--config|${FUZZ_DIR}/seed_config.json|--no-gui|--threads|1")

# ---- Not regular files, wherever a file is read: refused before opening, named with what they are ----
hostile_test(hostile_scene_fifo CMD "${NGP_BIN}|--info|--scene|${HOST}/fifo.json" CODE 1 FIXTURES hostile
             ERR "fifo.json: is a FIFO \\(named pipe\\), not a regular file")
hostile_test(hostile_scene_fifo_positional CMD "${NGP_BIN}|--info|${HOST}/fifo" CODE 2 FIXTURES hostile
             ERR "fifo: is a FIFO \\(named pipe\\), not a regular file")
hostile_test(hostile_scene_dev_zero CMD "${NGP_BIN}|--info|--scene|/dev/zero" CODE 1
             ERR "/dev/zero: is a character device, not a regular file")
hostile_test(hostile_scene_loop CMD "${NGP_BIN}|--info|--scene|${HOST}/loop.json" CODE 1 FIXTURES hostile
             ERR "loop.json: cannot open: a symbolic link loop")
hostile_test(hostile_config_fifo CMD "${NGP_BIN}|--info|--config|${HOST}/fifo.json" CODE 1 FIXTURES hostile
             ERR "fifo.json: is a FIFO \\(named pipe\\)")
hostile_test(hostile_config_dev_zero CMD "${NGP_BIN}|--info|--config|/dev/zero" CODE 1
             ERR "/dev/zero: is a character device")
hostile_test(hostile_config_loop CMD "${NGP_BIN}|--info|--config|${HOST}/loop.json" CODE 1 FIXTURES hostile
             ERR "loop.json: cannot open: a symbolic link loop")
hostile_test(hostile_config_folder CMD "${NGP_BIN}|--info|--config|${HOST}/folder.json" CODE 1 FIXTURES hostile
             ERR "folder.json: is a directory, expected a file")
hostile_test(hostile_parent_fifo CMD "${NGP_BIN}|--info|--config|${HOST}/parent_fifo.json" CODE 1 FIXTURES hostile
             ERR "parent_fifo.json: parent: [^\n]*fifo.json: is a FIFO \\(named pipe\\)")
hostile_test(hostile_parent_loop CMD "${NGP_BIN}|--info|--config|${HOST}/parent_loop.json" CODE 1 FIXTURES hostile
             ERR "parent_loop.json: parent: cannot open [^\n]*loop.json: Too many levels of symbolic links")
hostile_test(hostile_parent_folder CMD "${NGP_BIN}|--info|--config|${HOST}/parent_folder.json" CODE 1 FIXTURES hostile
             ERR "parent_folder.json: parent: [^\n]*folder.json: is a directory")
hostile_test(hostile_image_fifo CMD "${NGP_BIN}|--info|${HOST}/img_fifo" CODE 1 FIXTURES hostile
             ERR "img_fifo/transforms.json: frames\\[0\\]: [^\n]*a.png: is a FIFO \\(named pipe\\)")
hostile_test(hostile_image_folder CMD "${NGP_BIN}|--info|${HOST}/img_dir" CODE 1 FIXTURES hostile
             ERR "img_dir/transforms.json: frames\\[0\\]: [^\n]*a.png: is a directory")
hostile_test(hostile_image_device CMD "${NGP_BIN}|--info|${HOST}/img_dev" CODE 1 FIXTURES hostile
             ERR "img_dev/transforms.json: frames\\[0\\]: /dev/zero: is a character device")
hostile_test(hostile_image_loop CMD "${NGP_BIN}|--info|${HOST}/img_loop" CODE 1 FIXTURES hostile
             ERR "img_loop/transforms.json: frames\\[0\\]: [^\n]*a.png: cannot open: a symbolic link loop")
hostile_test(hostile_snapshot_fifo CMD "${NGP_BIN}|--no-gui|--load-snapshot|${HOST}/fifo.ngp" CODE 1 FIXTURES hostile
             ERR "fifo.ngp: is a FIFO \\(named pipe\\)")
hostile_test(hostile_snapshot_fifo_positional CMD "${NGP_BIN}|--no-gui|${HOST}/fifo.ngp" CODE 2 FIXTURES hostile
             ERR "fifo.ngp: is a FIFO \\(named pipe\\)")
hostile_test(hostile_snapshot_dev_zero CMD "${NGP_BIN}|--no-gui|--load-snapshot|/dev/zero" CODE 1
             ERR "/dev/zero: is a character device")
hostile_test(hostile_snapshot_loop CMD "${NGP_BIN}|--no-gui|--load-snapshot|${HOST}/loop.ngp" CODE 1 FIXTURES hostile
             ERR "loop.ngp: cannot open: a symbolic link loop")
hostile_test(hostile_test_transforms_fifo
             CMD "${NGP_BIN}|--no-gui|--load-snapshot|${SNAP}/tiny.ngp|--test-transforms|${HOST}/fifo.json" CODE 1
             FIXTURES "hostile;cat_snapshots" ERR "fifo.json: is a FIFO \\(named pipe\\)")
hostile_test(hostile_screenshot_transforms_fifo
             CMD "${NGP_BIN}|--no-gui|--load-snapshot|${SNAP}/tiny.ngp|--screenshot-transforms|${HOST}/fifo.json|--screenshot-dir|${HOST}/shots_fifo"
             CODE 1 FIXTURES "hostile;cat_snapshots" ERR "fifo.json: is a FIFO \\(named pipe\\)")

# ---- JSON: the nesting limit said, duplicate keys refused with the key, foreign files not quoted -------
hostile_test(hostile_deep_scene CMD "${NGP_BIN}|--info|${HOST}/deep_scene.json" CODE 1 FIXTURES hostile
             ERR "deep_scene.json:1: the JSON nests arrays and objects more than 1000 levels deep")
hostile_test(hostile_deep_config CMD "${NGP_BIN}|--info|--config|${HOST}/deep_config.json" CODE 1 FIXTURES hostile
             ERR "deep_config.json:1: the JSON nests arrays and objects more than 1000 levels deep")
hostile_test(hostile_dup_top CMD "${NGP_BIN}|--info|${HOST}/dup_top.json" CODE 1 FIXTURES hostile
             ERR "dup_top.json: key \"camera_angle_x\" appears twice in one object")
hostile_test(hostile_dup_frame CMD "${NGP_BIN}|--info|${HOST}/dup_frame.json" CODE 1 FIXTURES hostile
             ERR "dup_frame.json: frames\\[0\\]: key \"file_path\" appears twice in one object")
hostile_test(hostile_dup_config CMD "${NGP_BIN}|--info|--config|${HOST}/dup_config.json" CODE 1 FIXTURES hostile
             ERR "dup_config.json: encoding: key \"otype\" appears twice in one object")
# /etc/passwd as a parent: said not to be JSON, none of its bytes quoted.
hostile_test(hostile_parent_passwd CMD "${NGP_BIN}|--info|--config|${HOST}/parent_passwd.json" CODE 1 FIXTURES hostile
             ERR "^instant-ngp: error: [^\n]*parent_passwd.json: parent: /etc/passwd: not JSON: it does not begin with '\\{' or '\\['; is this the right file\\?\n$")

# ---- Outputs checked before the first step: 2 for a bad name, 1 with the reason -------------------------
# Each would train 10^6 steps if the check came late: the TIMEOUT turns that into a failure.
hostile_test(hostile_save_empty CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot=" CODE 2 FIXTURES hostile
             ERR "--save-snapshot: an empty name; give a file name")
hostile_test(hostile_screenshot_dir_empty
             CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--screenshot-transforms|${HOST}/collide.json|--screenshot-dir="
             CODE 2 FIXTURES hostile ERR "--screenshot-dir: an empty name; give a folder name")
hostile_test(hostile_save_trailing_slash CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/out/" CODE 2
             FIXTURES hostile ERR "--save-snapshot [^\n]*out/: ends in '/'; give a file name")
string(REPEAT a 260 _long)
hostile_test(hostile_save_long_name CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/${_long}.ngp"
             CODE 2 FIXTURES hostile ERR "a name in the path is 264 bytes long, more than 255")
hostile_test(hostile_save_parent_is_file CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/plain.txt/m.ngp"
             CODE 1 FIXTURES hostile ERR "plain.txt is a regular file, not a folder \\(checked before training, nothing was done\\)")
hostile_test(hostile_save_is_folder CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/locked" CODE 1
             FIXTURES hostile ERR "locked: is a directory; give the name of a regular file")
hostile_test(hostile_save_fifo CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/fifo.ngp" CODE 1
             FIXTURES hostile ERR "fifo.ngp: is a FIFO \\(named pipe\\); give the name of a regular file")
hostile_test(hostile_save_proc CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|/proc/ngp-hostile/m.ngp" CODE 1
             FIXTURES hostile ERR "--save-snapshot /proc/ngp-hostile/m.ngp: cannot write in the folder /proc: ")
hostile_test(hostile_save_no_permission CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/locked/m.ngp"
             CODE 1 FIXTURES hostile NOBODY 1 ERR "cannot write in the folder [^\n]*locked: Permission denied")
hostile_test(hostile_screenshot_dir_is_file
             CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--screenshot-transforms|${HOST}/collide.json|--screenshot-dir|${HOST}/plain.txt"
             CODE 1 FIXTURES hostile ERR "--screenshot-dir [^\n]*plain.txt: is a regular file, not a folder")
# ---- Outputs that would overwrite the run's inputs -------------------------------------------------------
hostile_test(hostile_save_over_transforms CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/scene/rgba.json"
             CODE 1 FIXTURES hostile ERR "--save-snapshot [^\n]*rgba.json: would write over the scene's [^\n]*rgba.json, which this run reads")
hostile_test(hostile_save_over_image CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-snapshot|${HOST}/scene/rgba.png"
             CODE 1 FIXTURES hostile ERR "would write over the training image [^\n]*rgba.png")
hostile_test(hostile_save_over_config CMD "${NGP_BIN}|${HOST}/scene/rgba.json|--config|${HOST}/dup_frame.json|--no-gui|--n-steps|1000000|--save-snapshot|${HOST}/dup_frame.json"
             CODE 1 FIXTURES hostile ERR "dup_frame.json")
hostile_test(hostile_screenshots_over_images
             CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--screenshot-transforms|${HOST}/collide.json|--screenshot-dir|${HOST}/scene"
             CODE 1 FIXTURES hostile ERR "--screenshot-dir [^\n]*scene: is the folder of the scene's [^\n]*rgba.json: screenshots there would write over files this run reads")
# Every output file is held to the same rules: meshes, logs, metrics and videos too.
hostile_test(hostile_mesh_parent_is_file CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--save-mesh|${HOST}/plain.txt/m.ply"
             CODE 1 FIXTURES hostile ERR "--save-mesh [^\n]*plain.txt is a regular file, not a folder \\(checked before training")
hostile_test(hostile_log_parent_is_file CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--log|${HOST}/plain.txt/t.csv"
             CODE 1 FIXTURES hostile ERR "--log [^\n]*plain.txt is a regular file, not a folder \\(checked before training")
hostile_test(hostile_metrics_over_transforms
             CMD "${NGP_BIN}|${TINY}|--n-steps|1000000|--test-transforms|${HOST}/scene/rgba.json|--metrics-json|${HOST}/scene/rgba.json"
             CODE 1 FIXTURES hostile ERR "--metrics-json [^\n]*rgba.json: would write over the transforms [^\n]*rgba.json, which this run reads")
# ---- No step, no save: one rule for --n-steps 0 and --train-seconds 0 -----------------------------------
hostile_test(hostile_n_steps_zero CMD "${NGP_BIN}|${TINY}|--n-steps|0|--save-snapshot|${HOST}/zero.ngp" CODE 2
             FIXTURES hostile ERR "--n-steps 0: a new model would train no step, so there is nothing to save")
hostile_test(hostile_train_seconds_zero CMD "${NGP_BIN}|${TINY}|--train-seconds|0|--save-snapshot|${HOST}/zero.ngp" CODE 2
             FIXTURES hostile ERR "--train-seconds 0: a new model would train no step, so there is nothing to save")
hostile_test(hostile_train_seconds_tiny CMD "${NGP_BIN}|${TINY}|--train-seconds|1e-9|--save-snapshot|${HOST}/zero.ngp" CODE 1
             FIXTURES hostile ERR "no training step fit in --train-seconds; the untrained model was not saved")
# ---- Saying when nothing will be saved; screenshot names that collide -------------------------------------
hostile_test(hostile_nothing_saved CMD "${NGP_BIN}|${TINY}|--n-steps|2" CODE 0 FIXTURES hostile
             OUT "note: nothing will be saved: [^\n]*add --save-snapshot FILE to keep it.*trained 2 steps")
hostile_test(hostile_screenshot_collisions
             CMD "${NGP_BIN}|--no-gui|--load-snapshot|${SNAP}/tiny.ngp|--screenshot-transforms|${HOST}/collide.json|--screenshot-dir|${HOST}/shots"
             CODE 0 FIXTURES "hostile;cat_snapshots"
             OUT "screenshot 1/3: [^\n]*shots/r_0.png .*screenshot 2/3: [^\n]*shots/r_0_2.png .*screenshot 3/3: [^\n]*shots/r_0_2_2.png ")
# ---- Long phases stop at the first SIGINT/SIGTERM (tests/cli/interrupt.sh) ---------------------------------
foreach(_phase screenshots test_views training_unsaved second_signal mesh)
  add_test(NAME cli_hostile_interrupt_${_phase}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/interrupt.sh ${_phase} ${NGP_BIN} ${SNAP}/tiny.ngp ${HOST} ${FUZZ_DIR}/seed_config.json)
  set_tests_properties(cli_hostile_interrupt_${_phase} PROPERTIES LABELS cli FIXTURES_REQUIRED "hostile;cat_snapshots"
                       SKIP_RETURN_CODE 77 TIMEOUT 120 RESOURCE_LOCK hostile_interrupt)
endforeach()

# ---- Sizes that fit each range but not the machine: refused before allocating, with what to lower ------
hostile_test(hostile_grid_index_limit CMD "${NGP_BIN}|--info|--config|${HOST}/grid_2e30.json" CODE 1 FIXTURES hostile
             ERR "grid_2e30.json: encoding: level [0-9]+ needs [0-9]+ entries \\([0-9]+ in all\\), over the 32-bit limit; lower encoding.log2_hashmap_size or encoding.n_levels")
hostile_test(hostile_big_png CMD "${NGP_BIN}|--info|${HOST}/big_png" CODE 1 FIXTURES hostile
             ERR "big_png/transforms.json: frames\\[0\\]: [^\n]*a.png: image is 100000x100000, larger than the 32768 pixels per side or 268435456 pixels allowed")
hostile_test(hostile_big_camera
             CMD "${NGP_BIN}|--no-gui|--load-snapshot|${SNAP}/tiny.ngp|--screenshot-transforms|${HOST}/big_camera.json|--screenshot-dir|${HOST}/shots_big"
             CODE 1 FIXTURES "hostile;cat_snapshots"
             ERR "big_camera.json: w, h: a camera of 32768x32768 is 1073741824 pixels, more than the 268435456 an image may have")
# Under a memory cap (prlimit --as), the real binary: the message has the sizes and what to lower.
# AddressSanitizer maps terabytes of shadow memory, so no address-space cap can run it: skipped there.
find_program(PRLIMIT prlimit)
if(NGP_SANITIZE OR NOT PRLIMIT)
  foreach(_t hostile_memory_model hostile_memory_screenshot hostile_memory_images)
    add_test(NAME cli_${_t} COMMAND ${CMAKE_COMMAND} -E echo
             "SKIP: needs prlimit (util-linux) and a build without AddressSanitizer, whose shadow memory no address-space cap admits")
    set_tests_properties(cli_${_t} PROPERTIES LABELS cli SKIP_REGULAR_EXPRESSION "SKIP: ")
  endforeach()
else()
  hostile_test(hostile_memory_model
               CMD "${PRLIMIT}|--as=1500000000|${NGP_BIN}|${HOST}/scene/rgba.json|--config|${HOST}/grid_10gib.json|--no-gui|--threads|1|--n-steps|1"
               CODE 1 FIXTURES hostile
               ERR "grid_10gib.json: the model \\(537014272 parameters, to train\\) needs 10.00 GiB, more than the [0-9.]+ GiB left under the address-space limit \\(ulimit -v\\): out of memory before it starts; use a smaller model: lower encoding.log2_hashmap_size \\(now 24\\) or encoding.n_levels \\(now 16\\)")
  hostile_test(hostile_memory_screenshot
               CMD "${PRLIMIT}|--as=2000000000|${NGP_BIN}|--no-gui|--threads|1|--load-snapshot|${SNAP}/tiny.ngp|--screenshot-transforms|${HOST}/collide.json|--screenshot-dir|${HOST}/shots_mem|--width|16384|--height|16384"
               CODE 1 FIXTURES "hostile;cat_snapshots"
               ERR "a 16384x16384 screenshot needs 8.00 GiB, more than the [0-9.]+ GiB left under the address-space limit \\(ulimit -v\\): out of memory before it starts; use a smaller --width/--height")
  hostile_test(hostile_memory_images CMD "${PRLIMIT}|--as=8000000000|${NGP_BIN}|--info|${HOST}/many_big" CODE 1
               FIXTURES hostile
               ERR "many_big: decoding the 40 images at once \\(as RGBA; the largest, [^\n]*big.png, is 16384x16384\\) needs 40.00 GiB, more than the [0-9.]+ GiB left under the address-space limit \\(ulimit -v\\): out of memory before it starts; use fewer frames or smaller images")
endif()

# ---- Camera values that cannot be a camera: refused with the field, not trained with 0 samples per ray -----
hostile_test(hostile_camera_focal_tiny CMD "${NGP_BIN}|--info|${HOST}/scene/cam_focal_tiny.json" CODE 1 FIXTURES hostile
             ERR "cam_focal_tiny.json: frames\\[0\\]: the horizontal focal length of [0-9.e+-]+ pixels for an image 4 pixels wide cannot be a camera's")
hostile_test(hostile_camera_focal_huge CMD "${NGP_BIN}|--info|${HOST}/scene/cam_focal_huge.json" CODE 1 FIXTURES hostile
             ERR "cam_focal_huge.json: frames\\[0\\]: the horizontal focal length of 1e\\+30 pixels")
hostile_test(hostile_camera_far CMD "${NGP_BIN}|--info|${HOST}/scene/cam_far.json" CODE 1 FIXTURES hostile
             ERR "cam_far.json: frames\\[0\\].transform_matrix: the camera is [0-9.e+]+ units from the scene box's centre, more than 10\\^6 box sides \\(aabb_scale 1\\): no ray can hit the box; check scale")
hostile_test(hostile_camera_offset CMD "${NGP_BIN}|--info|${HOST}/scene/cam_offset.json" CODE 1 FIXTURES hostile
             ERR "cam_offset.json: frames\\[0\\].transform_matrix: the camera is [0-9.e+]+ units from the scene box's centre.*offset \\(1e\\+30, 0, 0\\)")
hostile_test(hostile_camera_k1 CMD "${NGP_BIN}|--info|${HOST}/scene/cam_k1.json" CODE 1 FIXTURES hostile
             ERR "cam_k1.json: frames\\[0\\]: a lens distortion coefficient of 1e\\+30 cannot be a camera's")
hostile_test(hostile_camera_cx CMD "${NGP_BIN}|--info|${HOST}/scene/cam_cx.json" CODE 1 FIXTURES hostile
             ERR "cam_cx.json: frames\\[0\\]: the principal point cx = 1e\\+30 pixels is more than an image away from the image")
hostile_test(hostile_no_ray_hits
             CMD "${NGP_BIN}|${HOST}/scene/cam_away.json|--config|${FUZZ_DIR}/seed_config.json|--no-gui|--threads|1|--n-steps|20"
             CODE 0 FIXTURES hostile
             ERR "warning: 0 samples per ray in the first 16 steps: no ray hits the scene box; check aabb_scale, scale, offset")
