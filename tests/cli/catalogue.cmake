# The bad-input catalogue (issue 7, "say why, lose nothing"): every kind of broken scene, image,
# config and snapshot a user may hand us, each with the one line it must produce (file, field
# path, what is wrong, a hint) and exit 1, never a crash or a hang; plus the valid-but-unusual
# inputs (16-bit, grey, palette PNGs, per-frame image sizes) that must keep loading. Included at
# the end of tests/cli/CMakeLists.txt, whose ngp_cli_test(), NGP_BIN, BAD and GEN it uses.
# Fixtures: tests/data/bad/<case>/ (binary images from tests/data/bad/gen_images.py); snapshots
# are made and damaged at test time by ngp-snaptool (tests/fuzz/snaptool.c), being 8 MiB and up.
set(CAT ${CMAKE_CURRENT_BINARY_DIR}/catalogue)
set(FUZZ_DIR ${PROJECT_SOURCE_DIR}/tests/fuzz)

add_executable(ngp-snaptool ${FUZZ_DIR}/snaptool.c)
target_link_libraries(ngp-snaptool PRIVATE ngp ngp_internal)
ngp_set_warnings(ngp-snaptool)
set(SNAPTOOL $<TARGET_FILE:ngp-snaptool>)

# ---- Scenes: wrong JSON types ----------------------------------------------------------------------
ngp_cli_test(cat_type_frames CMD "${NGP_BIN}|--info|${BAD}/type_frames" CODE 1
             ERR "type_frames/transforms.json: frames: expected an array, found an object")
ngp_cli_test(cat_type_file_path CMD "${NGP_BIN}|--info|${BAD}/type_file_path" CODE 1
             ERR "type_file_path/transforms.json: frames\\[0\\].file_path: expected a string, found a number")
ngp_cli_test(cat_type_matrix_row CMD "${NGP_BIN}|--info|${BAD}/type_matrix_row" CODE 1
             ERR "type_matrix_row/transforms.json: frames\\[0\\].transform_matrix\\[1\\]: expected a row of 4 numbers, found a string")
ngp_cli_test(cat_type_is_fisheye CMD "${NGP_BIN}|--info|${BAD}/type_is_fisheye" CODE 1
             ERR "type_is_fisheye/transforms.json: is_fisheye: expected true or false, found a string")
ngp_cli_test(cat_type_aabb_scale CMD "${NGP_BIN}|--info|${BAD}/type_aabb_scale" CODE 1
             ERR "type_aabb_scale/transforms.json: aabb_scale: expected an integer, found a string")
ngp_cli_test(cat_type_frame_fl_y CMD "${NGP_BIN}|--info|${BAD}/type_frame_fl_y" CODE 1
             ERR "type_frame_fl_y/transforms.json: frames\\[1\\].fl_y: expected a number, found an array")
ngp_cli_test(cat_type_up CMD "${NGP_BIN}|--info|${BAD}/type_up" CODE 1
             ERR "type_up/transforms.json: up: expected an array of 3 numbers, found a number")

# ---- Scenes: poses, sizes, focal lengths, aabb_scale ------------------------------------------------
ngp_cli_test(cat_singular_pose CMD "${NGP_BIN}|--info|${BAD}/singular_pose" CODE 1
             ERR "singular_pose/transforms.json: frames\\[0\\].transform_matrix: the rotation is singular \\(determinant 0\\); the upper-left 3x3 block must be a rotation")
ngp_cli_test(cat_huge_pose CMD "${NGP_BIN}|--info|${BAD}/huge_pose" CODE 1
             ERR "huge_pose/transforms.json: frames\\[0\\].transform_matrix: the rotation's determinant overflows")
ngp_cli_test(cat_overflow_position CMD "${NGP_BIN}|--info|${BAD}/overflow_position" CODE 1
             ERR "overflow_position/transforms.json: frames\\[0\\].transform_matrix: the camera position overflows once scaled \\(scale 3e\\+38.*check scale, offset and aabb")
ngp_cli_test(cat_zero_width CMD "${NGP_BIN}|--info|${BAD}/zero_width" CODE 1
             ERR "zero_width/transforms.json: w: 0 is out of range \\[1, 32768\\]")
ngp_cli_test(cat_negative_height CMD "${NGP_BIN}|--info|${BAD}/negative_height" CODE 1
             ERR "negative_height/transforms.json: frames\\[0\\].h: -6 is out of range \\[1, 32768\\]")
ngp_cli_test(cat_zero_focal CMD "${NGP_BIN}|--info|${BAD}/zero_focal" CODE 1
             ERR "zero_focal/transforms.json: fl_x: focal length 0 must be positive \\(pixels\\)")
ngp_cli_test(cat_negative_angle CMD "${NGP_BIN}|--info|${BAD}/negative_angle" CODE 1
             ERR "negative_angle/transforms.json: camera_angle_x: angle -0.5 is not in \\(0, pi\\) radians")
ngp_cli_test(cat_zero_angle_y CMD "${NGP_BIN}|--info|${BAD}/zero_angle_y" CODE 1
             ERR "zero_angle_y/transforms.json: camera_angle_y: angle 0 is not in \\(0, pi\\) radians")
ngp_cli_test(cat_fov_180 CMD "${NGP_BIN}|--info|${BAD}/fov_180" CODE 1
             ERR "fov_180/transforms.json: x_fov: field of view 180 is not in \\(0, 180\\) degrees")
# NGP-SPEC §1.5: a power of two, at most 2^(NERF_CASCADES-1) = 128.
ngp_cli_test(cat_aabb_scale_not_pow2 CMD "${NGP_BIN}|--info|${BAD}/aabb_scale_not_pow2" CODE 1
             ERR "aabb_scale_not_pow2/transforms.json: aabb_scale: 6 is not a power of two \\(1, 2, 4, \\.\\.\\., 128\\)")
ngp_cli_test(cat_aabb_scale_too_large CMD "${NGP_BIN}|--info|${BAD}/aabb_scale_too_large" CODE 1
             ERR "aabb_scale_too_large/transforms.json: aabb_scale: 256 is out of range; use a power of two from 1 to 128")
ngp_cli_test(cat_aabb_scale_zero CMD "${NGP_BIN}|--info|${BAD}/aabb_scale_zero" CODE 1
             ERR "aabb_scale_zero/transforms.json: aabb_scale: 0 is out of range")

# ---- Scenes: image sizes against the json -------------------------------------------------------------
# Frames may differ in size (instant-ngp takes each image's own size): fine when each frame carries
# its own pixel intrinsics, an error when a declared w/h or an inherited focal in pixels disagrees.
ngp_cli_test(cat_size_mismatch CMD "${NGP_BIN}|--info|${BAD}/size_mismatch" CODE 1
             ERR "size_mismatch/transforms.json: frames\\[0\\]: image '[^']*train/r_0.png' is 4x3 pixels, but w, h say 8x6; correct w and h")
ngp_cli_test(cat_shared_focal_sizes CMD "${NGP_BIN}|--info|${BAD}/shared_focal_sizes" CODE 1
             ERR "shared_focal_sizes/transforms.json: frames\\[1\\]: image '[^']*train/b.png' is 8x6 pixels, but frames\\[0\\]'s '[^']*train/a.png' is 4x3, and it takes fl_x \\(pixels\\) from the top level")
ngp_cli_test(cat_per_frame_sizes CMD "${NGP_BIN}|--info|${BAD}/per_frame_sizes" CODE 0
             OUT "frames: +2 used.*images: +4x3 RGB \\(1 frame differ in size\\).*1 frame have their own intrinsics")

# ---- Images: valid variants are converted to 8-bit RGBA; broken ones named -------------------------------
ngp_cli_test(cat_png_variants CMD "${NGP_BIN}|--info|${BAD}/png_variants" CODE 0
             OUT "frames: +10 used, 0 skipped.*images: +16x16 grey \\(8 frames differ in size\\).*with transparency")
foreach(_v "grey1;4x3 grey" "grey16;4x3 grey" "grey_alpha;4x3 grey\\+alpha" "rgb16;4x3 RGB," "palette;4x3 RGB,"
           "palette_trns;4x3 RGBA" "rgba;4x3 RGBA" "grey_jpeg;16x16 grey" "progressive_jpeg;16x16 grey")
  list(GET _v 0 _name)
  list(GET _v 1 _expect)
  ngp_cli_test(cat_png_${_name} CMD "${NGP_BIN}|--info|${BAD}/png_variants/${_name}.json" CODE 0
               OUT "frames: +1 used.*images: +${_expect}")
endforeach()
ngp_cli_test(cat_truncated_jpeg CMD "${NGP_BIN}|--info|${BAD}/truncated_jpeg" CODE 1
             ERR "truncated_jpeg/transforms.json: frames\\[0\\]: [^\n]*train/r_0.jpg: cannot decode the image \\(Corrupt JPEG\\); the file may be truncated or corrupt")
ngp_cli_test(cat_jpeg_headers_only CMD "${NGP_BIN}|--info|${BAD}/jpeg_headers_only" CODE 1
             ERR "jpeg_headers_only/transforms.json: frames\\[0\\]: [^\n]*train/r_0.jpg: cannot decode the image")
# Crash inputs found by fuzz_image (stb_image 2.27 bugs, now refused before stb sees the file); the
# scenes name them in tests/fuzz/regressions/image/.
ngp_cli_test(cat_fuzz_jpeg_dht CMD "${NGP_BIN}|--info|${BAD}/fuzz_jpeg_dht" CODE 1
             ERR "fuzz_jpeg_dht/transforms.json: frames\\[0\\]: [^\n]*jpeg_dht_over_256_codes.jpg: corrupt JPEG: a Huffman table lists [0-9]+ codes, at most 256")
ngp_cli_test(cat_fuzz_jpeg_no_tables CMD "${NGP_BIN}|--info|${BAD}/fuzz_jpeg_no_tables" CODE 1
             ERR "fuzz_jpeg_no_tables/transforms.json: frames\\[0\\]: [^\n]*jpeg_scan_without_huffman_tables.jpg: corrupt JPEG: a scan decodes with DC Huffman table 0, which no DHT segment before it defines")
ngp_cli_test(cat_fuzz_jpeg_progressive_table_late CMD "${NGP_BIN}|--info|${BAD}/fuzz_jpeg_progressive_table_late" CODE 1
             ERR "fuzz_jpeg_progressive_table_late/transforms.json: frames\\[0\\]: [^\n]*jpeg_progressive_ac_table_after_scan.jpg: corrupt JPEG: a scan decodes with AC Huffman table 0")
ngp_cli_test(cat_fuzz_pnm_overflow CMD "${NGP_BIN}|--info|${BAD}/fuzz_pnm_overflow" CODE 1
             ERR "fuzz_pnm_overflow/transforms.json: frames\\[0\\]: [^\n]*pnm_width_overflow.ppm: corrupt PNM header: the width has more than 9 digits")
ngp_cli_test(cat_fuzz_pnm_16bit CMD "${NGP_BIN}|--info|${BAD}/fuzz_pnm_16bit" CODE 1
             ERR "fuzz_pnm_16bit/transforms.json: frames\\[0\\]: [^\n]*pnm_16bit_convert.ppm: 16-bit PNM \\(maximum value [0-9]+\\) is not supported")

# ---- Folders and unreadable files ------------------------------------------------------------------
ngp_cli_test(cat_no_transforms CMD "${NGP_BIN}|--info|${BAD}/no_transforms" CODE 1
             ERR "no_transforms: no transforms file in this folder; expected transforms_train.json, transforms.json")
ngp_cli_test(cat_snapshot_is_dir CMD "${NGP_BIN}|--load-snapshot|${BAD}/no_transforms" CODE 1
             ERR "no_transforms: is a directory, expected a file")
# Unreadable files (mode 000; as root the command runs as `nobody`, see run.cmake): world-readable
# copies in the build tree, so that `nobody` can reach them.
# The copies are made afresh each run: a mode-000 file left by the last run cannot be overwritten.
add_test(NAME cli_cat_unreadable_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${CAT}/unreadable)
add_test(NAME cli_cat_unreadable_setup COMMAND ${CMAKE_COMMAND} -E copy_directory ${BAD}/png_variants ${CAT}/unreadable)
add_test(NAME cli_cat_unreadable_config_setup COMMAND ${CMAKE_COMMAND} -E copy ${BAD}/config_range/config.json
         ${CAT}/unreadable/config.json)
set_tests_properties(cli_cat_unreadable_clean cli_cat_unreadable_setup cli_cat_unreadable_config_setup PROPERTIES
                     FIXTURES_SETUP cat_unreadable LABELS cli)
set_tests_properties(cli_cat_unreadable_setup PROPERTIES DEPENDS cli_cat_unreadable_clean)
set_tests_properties(cli_cat_unreadable_config_setup PROPERTIES DEPENDS cli_cat_unreadable_setup)
ngp_cli_test(cat_unreadable_transforms CMD "${NGP_BIN}|--info|${CAT}/unreadable/grey8.json" CODE 1 FIXTURES cat_unreadable
             UNREADABLE ${CAT}/unreadable/grey8.json ERR "unreadable/grey8.json: cannot open: Permission denied")
ngp_cli_test(cat_unreadable_config CMD "${NGP_BIN}|--info|--config|${CAT}/unreadable/config.json" CODE 1
             FIXTURES cat_unreadable UNREADABLE ${CAT}/unreadable/config.json
             ERR "unreadable/config.json: cannot open: Permission denied")

# ---- Configs ---------------------------------------------------------------------------------------------
ngp_cli_test(cat_config_parent_missing CMD "${NGP_BIN}|--info|--config|${BAD}/config_parent_missing/config.json" CODE 1
             ERR "config_parent_missing/config.json: parent: cannot open [^\n]*nope.json: No such file or directory \\(parent paths are relative to the folder of")
ngp_cli_test(cat_config_cycle CMD "${NGP_BIN}|--info|--config|${BAD}/config_cycle/a.json" CODE 1
             ERR "config_cycle/b.json: parent: [^\n]*a.json is already in the chain of parents of [^\n]*a.json \\(a cycle\\)")
ngp_cli_test(cat_config_range CMD "${NGP_BIN}|--info|--config|${BAD}/config_range/config.json" CODE 1
             ERR "config_range/config.json: encoding.log2_hashmap_size: 31 is out of range \\[1, 30\\]")
ngp_cli_test(cat_config_malformed CMD "${NGP_BIN}|--info|--config|${BAD}/config_malformed/config.json" CODE 1
             ERR "config_malformed/config.json:2:[0-9]+: malformed JSON near ','")
ngp_cli_test(cat_config_not_object CMD "${NGP_BIN}|--info|--config|${BAD}/config_not_object/config.json" CODE 1
             ERR "config_not_object/config.json: expected a JSON object at the top level \\(a network config\\), found an array")
ngp_cli_test(cat_config_type_nested CMD "${NGP_BIN}|--info|--config|${BAD}/config_type_nested/config.json" CODE 1
             ERR "config_type_nested/config.json: optimizer.nested.learning_rate: expected a number, found a string")

# ---- Snapshots: made by the library (tests/fuzz/seed_config.json, a tiny network), then damaged ----------
set(SNAP ${CAT}/snapshots)
function(cat_snapshot name)
  add_test(NAME cli_cat_snapshot_make_${name} COMMAND ${SNAPTOOL} ${ARGN})
  set_tests_properties(cli_cat_snapshot_make_${name} PROPERTIES FIXTURES_SETUP cat_snapshots LABELS cli)
  if(NOT name STREQUAL "tiny")
    set_tests_properties(cli_cat_snapshot_make_${name} PROPERTIES DEPENDS cli_cat_snapshot_make_tiny)
  endif()
endfunction()
add_test(NAME cli_cat_snapshot_dir COMMAND ${CMAKE_COMMAND} -E make_directory ${SNAP})
set_tests_properties(cli_cat_snapshot_dir PROPERTIES FIXTURES_SETUP cat_snapshots LABELS cli)
cat_snapshot(tiny make ${FUZZ_DIR}/seed_config.json 1 ${SNAP}/tiny.ngp)
set_tests_properties(cli_cat_snapshot_make_tiny PROPERTIES DEPENDS cli_cat_snapshot_dir)
cat_snapshot(tiny2 make ${FUZZ_DIR}/seed_config.json 2 ${SNAP}/tiny2.ngp)
cat_snapshot(version version ${SNAP}/tiny.ngp ${SNAP}/version2.ngp 2)
cat_snapshot(truncated truncate ${SNAP}/tiny.ngp ${SNAP}/truncated.ngp 4000000)
cat_snapshot(stub truncate ${SNAP}/tiny.ngp ${SNAP}/stub.ngp 20)
cat_snapshot(flipped flip ${SNAP}/tiny.ngp ${SNAP}/flipped.ngp 5000)
cat_snapshot(malformed header ${SNAP}/tiny.ngp ${SNAP}/malformed.ngp "\"config\":{" "\"config\"{")
cat_snapshot(params header ${SNAP}/tiny.ngp ${SNAP}/params.ngp "\"n_neurons\":16" "\"n_neurons\":32")
cat_snapshot(config header ${SNAP}/tiny.ngp ${SNAP}/config.ngp "\"n_levels\":2" "\"n_levels\":0")
cat_snapshot(aabb3 header ${SNAP}/tiny.ngp ${SNAP}/aabb3.ngp "\"aabb_scale\":1" "\"aabb_scale\":3")
cat_snapshot(cascades header ${SNAP}/tiny2.ngp ${SNAP}/cascades.ngp "\"aabb_scale\":2" "\"aabb_scale\":4")
cat_snapshot(noconfig header ${SNAP}/tiny.ngp ${SNAP}/noconfig.ngp "\"config\":" "\"konfig\":")

ngp_cli_test(cat_snapshot_ok CMD "${NGP_BIN}|--load-snapshot|${SNAP}/tiny.ngp" CODE 0 FIXTURES cat_snapshots
             OUT "snapshot: [^\n]*tiny.ngp \\(step 42\\)")
ngp_cli_test(cat_snapshot_version CMD "${NGP_BIN}|--load-snapshot|${SNAP}/version2.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "version2.ngp: snapshot format version 2, this build reads version 1")
ngp_cli_test(cat_snapshot_truncated CMD "${NGP_BIN}|--load-snapshot|${SNAP}/truncated.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "truncated.ngp: checksum mismatch: the snapshot is truncated or corrupted")
ngp_cli_test(cat_snapshot_stub CMD "${NGP_BIN}|--load-snapshot|${SNAP}/stub.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "stub.ngp: truncated after 20 bytes: the snapshot is incomplete")
ngp_cli_test(cat_snapshot_flipped CMD "${NGP_BIN}|--load-snapshot|${SNAP}/flipped.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "flipped.ngp: checksum mismatch")
ngp_cli_test(cat_snapshot_header_malformed CMD "${NGP_BIN}|--load-snapshot|${SNAP}/malformed.ngp" CODE 1
             FIXTURES cat_snapshots ERR "malformed.ngp \\(header\\):1:[0-9]+: malformed JSON")
ngp_cli_test(cat_snapshot_no_config CMD "${NGP_BIN}|--load-snapshot|${SNAP}/noconfig.ngp" CODE 1
             FIXTURES cat_snapshots ERR "noconfig.ngp \\(header\\): config: missing; the file is corrupted")
ngp_cli_test(cat_snapshot_param_count CMD "${NGP_BIN}|--load-snapshot|${SNAP}/params.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "params.ngp: holds [0-9]+ parameters, but its config needs [0-9]+ at aabb_scale 1; the file is inconsistent")
ngp_cli_test(cat_snapshot_config_invalid CMD "${NGP_BIN}|--load-snapshot|${SNAP}/config.ngp" CODE 1
             FIXTURES cat_snapshots ERR "config.ngp \\(config\\): encoding.n_levels: 0 is out of range \\[1, 64\\]")
ngp_cli_test(cat_snapshot_aabb_not_pow2 CMD "${NGP_BIN}|--load-snapshot|${SNAP}/aabb3.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "aabb3.ngp \\(header\\): aabb_scale: 3 is not a power of two; the file is corrupted")
ngp_cli_test(cat_snapshot_cascades CMD "${NGP_BIN}|--load-snapshot|${SNAP}/cascades.ngp" CODE 1 FIXTURES cat_snapshots
             ERR "cascades.ngp: occupancy grid of 2 cascades does not match aabb_scale 4 \\(3 cascades\\) or the file size")
add_test(NAME cli_cat_unreadable_snapshot_setup COMMAND ${CMAKE_COMMAND} -E copy ${SNAP}/tiny.ngp ${CAT}/unreadable/model.ngp)
set_tests_properties(cli_cat_unreadable_snapshot_setup PROPERTIES FIXTURES_SETUP cat_unreadable_snapshot
                     FIXTURES_REQUIRED "cat_snapshots;cat_unreadable" LABELS cli)
ngp_cli_test(cat_unreadable_snapshot CMD "${NGP_BIN}|--load-snapshot|${CAT}/unreadable/model.ngp" CODE 1
             FIXTURES cat_unreadable_snapshot UNREADABLE ${CAT}/unreadable/model.ngp
             ERR "unreadable/model.ngp: cannot open: Permission denied")
# A full disk while saving (RLIMIT_FSIZE with SIGXFSZ ignored, so write() fails with EFBIG): the
# snapshot already at the destination stays byte-identical and no temporary file is left. The
# save would write tiny.ngp's content over tiny2.ngp's, so a save that went through is caught too.
ngp_cli_test(cat_snapshot_disk_full
             CMD "${SNAPTOOL}|disk-full|1048576|${SNAP}/tiny2.ngp|${SNAP}/dest.ngp|--|${NGP_BIN}|--load-snapshot|${SNAP}/tiny.ngp|--save-snapshot|${SNAP}/dest.ngp"
             CODE 1 FIXTURES cat_snapshots
             ERR "\\.dest.ngp.tmp.[0-9]+.[A-Za-z0-9]+: write failed: File too large \\(the previous [^\n]*dest.ngp is untouched\\)"
             OUT "disk-full: [^\n]*dest.ngp unchanged, no temporary file left")

# ---- Fuzz targets replayed over their seed corpora and every crash input kept ----------------------------
foreach(_t scene config snapshot image)
  add_executable(fuzz_${_t}_replay ${FUZZ_DIR}/fuzz_${_t}.c ${FUZZ_DIR}/replay_main.c)
  target_link_libraries(fuzz_${_t}_replay PRIVATE ngp ngp_internal)
  ngp_set_warnings(fuzz_${_t}_replay)
  add_test(NAME fuzz_replay_${_t} COMMAND fuzz_${_t}_replay ${FUZZ_DIR}/corpus/${_t} ${FUZZ_DIR}/regressions/${_t})
  set_tests_properties(fuzz_replay_${_t} PROPERTIES LABELS unit PASS_REGULAR_EXPRESSION "replayed [1-9][0-9]* inputs")
endforeach()

# A snapshot carries its own config: --config beside it is a usage error, and --info shows the
# snapshot's config, not the default one.
ngp_cli_test(cat_snapshot_with_config CMD "${NGP_BIN}|--load-snapshot|${SNAP}/tiny.ngp|--config|small.json" CODE 2
             FIXTURES cat_snapshots ERR "--config small.json: the snapshot .*tiny.ngp carries its own network config")
ngp_cli_test(cat_snapshot_info CMD "${NGP_BIN}|--info|--load-snapshot|${SNAP}/tiny.ngp" CODE 0 FIXTURES cat_snapshots
             OUT "config: from the snapshot .*tiny.ngp \\(step [0-9]+, [0-9]+ parameters\\)")

# ---- Render and output options (issue 16): every bad value is one line and exit 2 ------------------
ngp_cli_test(cat_error_map_bad CMD "${NGP_BIN}|--error-map|maybe" CODE 2 ERR "--error-map: 'maybe' is not on or off")
ngp_cli_test(cat_render_mode_bad CMD "${NGP_BIN}|--render-mode|zbuffer" CODE 2
             ERR "--render-mode: 'zbuffer' is not shade, depth, normals, positions or cost")
ngp_cli_test(cat_screenshot_frames_word CMD "${NGP_BIN}|--screenshot-frames|1,two" CODE 2
             ERR "--screenshot-frames: '1,two' is not a list of frame numbers I,J,... \\(from 0\\)")
ngp_cli_test(cat_screenshot_frames_negative CMD "${NGP_BIN}|--screenshot_frames|-1" CODE 2
             ERR "--screenshot-frames: '-1' is not a list of frame numbers")
ngp_cli_test(cat_screenshot_frames_empty CMD "${NGP_BIN}|--screenshot-frames|3," CODE 2
             ERR "--screenshot-frames: '3,' is not a list of frame numbers")
ngp_cli_test(cat_screenshot_frames_alone CMD "${NGP_BIN}|--scene|x|--screenshot-frames|0,1" CODE 2
             ERR "--screenshot-frames: needs --screenshot-transforms")
ngp_cli_test(cat_near_distance_negative CMD "${NGP_BIN}|--near_distance|-0.5" CODE 2
             ERR "--near-distance: '-0.5' is not a number from 0 to 10000")
ngp_cli_test(cat_exposure_word CMD "${NGP_BIN}|--exposure|bright" CODE 2
             ERR "--exposure: 'bright' is not a number from -20 to 20")
ngp_cli_test(cat_exposure_nan CMD "${NGP_BIN}|--exposure|nan" CODE 2 ERR "--exposure: 'nan' is not a number")
ngp_cli_test(cat_sharpen_range CMD "${NGP_BIN}|--sharpen|1.5" CODE 2 ERR "--sharpen: '1.5' is not a number from 0 to 1")
ngp_cli_test(cat_crop_box_short CMD "${NGP_BIN}|--crop-box|0,0,0,1,1" CODE 2
             ERR "--crop-box: '0,0,0,1,1' is not six numbers MINX,MINY,MINZ,MAXX,MAXY,MAXZ")
ngp_cli_test(cat_crop_box_inf CMD "${NGP_BIN}|--crop-box|0,0,0,1,1,inf" CODE 2 ERR "--crop-box: '0,0,0,1,1,inf' is not six numbers")
ngp_cli_test(cat_crop_box_inverted CMD "${NGP_BIN}|--crop-box|-1,2,-1,1,1,1" CODE 2
             ERR "--crop-box: '-1,2,-1,1,1,1': the minimum y \\(2\\) is not below the maximum \\(1\\)")
ngp_cli_test(cat_log_extension CMD "${NGP_BIN}|--log|train.txt" CODE 2
             ERR "--log: 'train.txt': name the file .csv or .jsonl \\(JSON Lines\\)")
ngp_cli_test(cat_metrics_extension CMD "${NGP_BIN}|--metrics-json|m.csv" CODE 2 ERR "--metrics-json: 'm.csv': name the file .json")
ngp_cli_test(cat_metrics_alone CMD "${NGP_BIN}|--scene|x|--metrics-json|m.json" CODE 2
             ERR "--metrics-json m.json: needs --test-transforms")
# Known only once the camera file is read: exit 1, before anything is rendered.
ngp_cli_test(cat_screenshot_frame_missing
             CMD "${NGP_BIN}|${GEN}/model.ngp|--screenshot-transforms|${GEN}/scene/transforms_test.json|--screenshot-dir|${CAT}/frames|--screenshot-frames|1,9"
             CODE 1 FIXTURES trained_model EMPTY_DIR ${CAT}/frames
             ERR "--screenshot-frames: frame 9 is not in [^\n]*transforms_test.json, which has 4 frames \\(0 to 3\\)")
# ---- Videos: every bad value of the --video-* options is a usage error (2) naming the option; a bad
# ---- camera path file fails (1) naming the file and the field, before any training ---------------------
set(CAM ${BAD}/camera_path)
set(GOOD_PATH ${PROJECT_SOURCE_DIR}/tests/data/video/base_cam.json)
set(SNAP_ARGS "--load-snapshot|${SNAP}/tiny.ngp")
foreach(_c "fps_zero;--video-fps|0;--video-fps: '0' is not a number from 0.001 to 1000"
           "fps_text;--video_fps|fast;--video-fps: 'fast' is not a number"
           "seconds_negative;--video-n-seconds|-1;--video-n-seconds: '-1' is not a number from 0.001"
           "spp_zero;--video-spp|0;--video-spp: '0' is not an integer from 1 to 1024"
           "spp_huge;--video-spp|4096;--video-spp: '4096' is not an integer from 1 to 1024"
           "range_one;--video-render-range|5;--video-render-range: '5' is not START,END"
           "range_reversed;--video-render-range|5,2;--video-render-range: '5,2' is not START,END: two frame numbers from 0, START <= END"
           "range_text;--video-render-range|a,b;--video-render-range: 'a,b' is not START,END"
           "range_negative;--video-render-range|-1,3;--video-render-range: '-1,3' is not START,END"
           "orbit_zero;--video-orbit|0;--video-orbit: '0' is not a number from 0.001"
           "output_pattern;--video-output|f_%s.png;--video-output f_%s.png: '%' starts a frame-number conversion, which must read like %04d"
           "output_two_numbers;--video-output|f_%d_%d.png;--video-output f_%d_%d.png: more than one frame-number conversion")
  list(GET _c 0 _name)
  list(GET _c 1 _args)
  list(GET _c 2 _err)
  string(REPLACE "." "\\." _err "${_err}")
  string(REPLACE "(" "\\(" _err "${_err}")
  string(REPLACE ")" "\\)" _err "${_err}")
  ngp_cli_test(cat_video_${_name} CMD "${NGP_BIN}|--video-camera-path|${GOOD_PATH}|${_args}|${SNAP_ARGS}" CODE 2
               FIXTURES cat_snapshots ERR "${_err}")
endforeach()
ngp_cli_test(cat_video_option_alone CMD "${NGP_BIN}|${SNAP_ARGS}|--video-fps|30" CODE 2 FIXTURES cat_snapshots
             ERR "--video-fps: no video was asked for; add --video-camera-path FILE")
ngp_cli_test(cat_video_smoothing_alone CMD "${NGP_BIN}|${SNAP_ARGS}|--video_camera_smoothing" CODE 2 FIXTURES cat_snapshots
             ERR "--video-camera-smoothing: no video was asked for")
ngp_cli_test(cat_video_path_and_orbit CMD "${NGP_BIN}|${SNAP_ARGS}|--video-orbit|1|--video-camera-path|${GOOD_PATH}" CODE 2
             FIXTURES cat_snapshots ERR "--video-orbit: a camera path \\([^)]*base_cam.json\\) was given too")
ngp_cli_test(cat_video_two_paths CMD "${NGP_BIN}|${SNAP_ARGS}|${GOOD_PATH}|--video-camera-path|${GOOD_PATH}" CODE 2
             FIXTURES cat_snapshots ERR "a camera path was already given")
ngp_cli_test(cat_video_odd_size CMD "${NGP_BIN}|${SNAP_ARGS}|--video-camera-path|${GOOD_PATH}|--width|33|--height|24" CODE 2
             FIXTURES cat_snapshots ERR "--width/--height 33x24: the video video.mp4 is H.264 \\(yuv420p\\), which needs an even width and height")
# Past the end: base_cam.json at 60 fps for its duration_seconds of 1 has frames 0 to 59.
ngp_cli_test(cat_video_range_past_end CMD "${NGP_BIN}|${SNAP_ARGS}|--video-camera-path|${GOOD_PATH}|--video-render-range|50,60"
             CODE 2 FIXTURES cat_snapshots ERR "--video-render-range 50,60: frame 60 is past the video's end: it has 60 frames \\(0 to 59\\)")
ngp_cli_test(cat_video_no_frames CMD "${NGP_BIN}|${SNAP_ARGS}|--video-camera-path|${GOOD_PATH}|--video-n-seconds|0.01|--video-fps|10"
             CODE 2 FIXTURES cat_snapshots ERR "--video-n-seconds 0.01 at --video-fps 10 makes 0 frames")
ngp_cli_test(cat_video_orbit_needs_scene CMD "${NGP_BIN}|${SNAP_ARGS}|--video-orbit|1" CODE 1 FIXTURES cat_snapshots
             ERR "--video-orbit places the orbit by the training cameras: give the scene \\(--scene\\) with the snapshot")
# Bad camera path files (exit 1, file and field), checked before the snapshot or scene is loaded.
ngp_cli_test(cat_video_path_missing CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|--video-camera-path|${CAM}/nope.json" CODE 1
             ERR "camera_path/nope.json: cannot open: No such file or directory")
ngp_cli_test(cat_video_path_type_R CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|--video-camera-path|${CAM}/type_R.json" CODE 1
             ERR "camera_path/type_R.json: path\\[0\\].R: expected an array of 4 numbers, found a string")
ngp_cli_test(cat_video_path_fov CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|${CAM}/fov_range.json" CODE 1
             ERR "camera_path/fov_range.json: path\\[0\\].fov: 190 is not a vertical field of view in \\(0, 180\\) degrees")
ngp_cli_test(cat_video_path_spline CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|${CAM}/spline_order.json" CODE 1
             ERR "camera_path/spline_order.json: spline_order: 7 is out of range \\[0, 3\\]")
ngp_cli_test(cat_video_path_empty CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|${CAM}/empty.json" CODE 1
             ERR "camera_path/empty.json: path: no keyframes; a video needs at least one")
ngp_cli_test(cat_video_transforms_bad CMD "${NGP_BIN}|--load-snapshot|/nonexistent.ngp|--video-camera-path|${BAD}/nan_pose/transforms.json"
             CODE 1 ERR "nan_pose/transforms.json: frames\\[0\\].transform_matrix\\[1\\]\\[3\\]: the number is not finite")
# ---- Meshes: every bad value of the mesh options is a usage error (exit 2) naming the option -------------
ngp_cli_test(cat_mesh_ext CMD "${NGP_BIN}|--save-mesh|${GEN}/m.stl" CODE 2
             ERR "--save-mesh: '.*m.stl' is not a .ply or .obj file name")
ngp_cli_test(cat_mesh_no_ext CMD "${NGP_BIN}|--save_mesh|mesh" CODE 2 ERR "--save-mesh: 'mesh' is not a .ply or .obj file name")
ngp_cli_test(cat_mesh_dir CMD "${NGP_BIN}|--save-mesh|out.ply/" CODE 2 ERR "--save-mesh: 'out.ply/' is not a .ply or .obj")
ngp_cli_test(cat_mesh_missing CMD "${NGP_BIN}|--save-mesh" CODE 2 ERR "--save-mesh: missing value")
ngp_cli_test(cat_mc_res_small CMD "${NGP_BIN}|--marching-cubes-res|4" CODE 2
             ERR "--marching-cubes-res: '4' is not an integer from 8 to 2048")
ngp_cli_test(cat_mc_res_large CMD "${NGP_BIN}|--marching_cubes_res|4096" CODE 2
             ERR "--marching-cubes-res: '4096' is not an integer from 8 to 2048")
ngp_cli_test(cat_mc_res_text CMD "${NGP_BIN}|--marching-cubes-res=fine" CODE 2
             ERR "--marching-cubes-res: 'fine' is not an integer")
ngp_cli_test(cat_mc_res_empty CMD "${NGP_BIN}|--marching-cubes-res=" CODE 2 ERR "--marching-cubes-res: '' is not an integer")
ngp_cli_test(cat_mc_thresh_nan CMD "${NGP_BIN}|--marching-cubes-density-thresh|nan" CODE 2
             ERR "--marching-cubes-density-thresh: 'nan' is not a number from -1000 to 1000")
ngp_cli_test(cat_mc_thresh_inf CMD "${NGP_BIN}|--marching_cubes_density_thresh|inf" CODE 2
             ERR "--marching-cubes-density-thresh: 'inf' is not a number")
ngp_cli_test(cat_mc_thresh_huge CMD "${NGP_BIN}|--marching-cubes-density-thresh|1e9" CODE 2
             ERR "--marching-cubes-density-thresh: '1e9' is not a number from -1000 to 1000")
ngp_cli_test(cat_mc_thresh_text CMD "${NGP_BIN}|--marching-cubes-density-thresh|2.5x" CODE 2
             ERR "--marching-cubes-density-thresh: '2.5x' is not a number")
# A mesh that cannot be written (its folder would be inside a file): exit 1, the path named.
ngp_cli_test(cat_mesh_unwritable CMD "${NGP_BIN}|${GEN}/model.ngp|--save-mesh|${GEN}/model.ngp/m.ply|--marching-cubes-res|8"
             CODE 1 FIXTURES trained_model ERR "--save-mesh .*model.ngp/m.ply: .*model.ngp is a regular file, not a folder \\(checked before training, nothing was done\\)")
# Hostile inputs, outputs and signals (issue 19).
include(${CMAKE_CURRENT_LIST_DIR}/hostile.cmake)
