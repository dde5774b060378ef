#!/bin/sh
# hostile_setup.sh DIR BAD: the hostile-input fixtures of hostile.cmake (issue 19), made afresh in
# DIR: FIFOs, a device, symlink loops and folders where files are expected, each in the place of a
# scene, transforms file, config, parent config, image or snapshot; deep and duplicate-key JSON; a
# copy of a small scene to try overwriting. Nothing here is kept in git: FIFOs and loops cannot be.
set -eu
dir=$1
bad=$2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
mkfifo fifo.json fifo fifo.ngp
ln -s loop.json loop.json
ln -s loop.ngp loop.ngp
mkdir folder.json
matrix='[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]'
# Scenes whose one image is not a regular file.
for kind in fifo dir dev loop; do
  mkdir "img_$kind"
  path=a.png
  case $kind in
    fifo) mkfifo "img_$kind/a.png" ;;
    dir) mkdir "img_$kind/a.png" ;;
    dev) path=/dev/zero ;;
    loop) ln -s a.png "img_$kind/a.png" ;;
  esac
  printf '{"camera_angle_x": 0.69, "frames": [{"file_path": "%s", "transform_matrix": %s}]}\n' "$path" "$matrix" \
    >"img_$kind/transforms.json"
done
# Configs whose parent is not a config.
printf '{"parent": "fifo.json"}\n' >parent_fifo.json
printf '{"parent": "loop.json"}\n' >parent_loop.json
printf '{"parent": "folder.json"}\n' >parent_folder.json
printf '{"parent": "/etc/passwd"}\n' >parent_passwd.json
# Valid JSON nested past the reader's limit (1000), as a scene and as a config.
python3 -c "print('{\"frames\": ' + '[' * 1200 + ']' * 1200 + '}')" >deep_scene.json
python3 -c "print('{\"encoding\": ' + '{\"a\": ' * 1100 + '1' + '}' * 1100 + '}')" >deep_config.json
# Duplicate keys, at the top and nested.
printf '{"camera_angle_x": 0.69, "camera_angle_x": 0.5, "frames": []}\n' >dup_top.json
printf '{"encoding": {"otype": "HashGrid", "otype": "Frequency"}}\n' >dup_config.json
printf '{"camera_angle_x": 0.69, "frames": [{"file_path": "a", "file_path": "b", "transform_matrix": %s}]}\n' \
  "$matrix" >dup_frame.json
# A copy of a small scene (one 4x3 RGBA image) that outputs may try to overwrite.
mkdir scene
cp "$bad/png_variants/rgba.json" "$bad/png_variants/rgba.png" scene/
# Screenshot cameras whose file names coincide in different folders.
printf '{"camera_angle_x": 0.69, "w": 8, "h": 6, "frames": [{"file_path": "a/r_0", "transform_matrix": %s}, {"file_path": "b/r_0", "transform_matrix": %s}, {"file_path": "r_0_2", "transform_matrix": %s}]}\n' \
  "$matrix" "$matrix" "$matrix" >collide.json
# A folder that cannot be written by `nobody` (root-owned, 0755) and a file in the way of a folder.
mkdir locked
chmod 0755 locked
printf 'x' >plain.txt
# Sizes each within range but too big together: a hash grid over the 32-bit index limit, one of
# 10 GiB to train (refused under a memory cap), a 100000x100000 PNG header, a 32768x32768 camera.
printf '{"encoding": {"otype": "HashGrid", "log2_hashmap_size": 30, "n_levels": 16}}\n' >grid_2e30.json
printf '{"encoding": {"otype": "HashGrid", "log2_hashmap_size": 24, "n_levels": 16}}\n' >grid_10gib.json
mkdir big_png
python3 - big_png/a.png <<'PY'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
ihdr = struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\0' * 16)) +
                               chunk(b'IEND', b''))
PY
printf '{"camera_angle_x": 0.69, "frames": [{"file_path": "a.png", "transform_matrix": %s}]}\n' "$matrix" \
  >big_png/transforms.json
printf '{"camera_angle_x": 0.69, "w": 32768, "h": 32768, "frames": [{"file_path": "v", "transform_matrix": %s}]}\n' \
  "$matrix" >big_camera.json
# Values that cannot be a camera (each beside the 4x3 image of the scene copy).
cam() {
  printf '{%s, "frames": [{"file_path": "rgba.png", "transform_matrix": %s}]}\n' "$2" "${3:-$matrix}" >"scene/cam_$1.json"
}
cam focal_tiny '"fl_x": 1e-40'
cam focal_huge '"fl_x": 1e30'
cam far '"camera_angle_x": 0.69' '[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1e20], [0, 0, 0, 1]]'
cam offset '"camera_angle_x": 0.69, "offset": [1e30, 0, 0]'
cam k1 '"camera_angle_x": 0.69, "k1": 1e30'
cam cx '"camera_angle_x": 0.69, "cx": 1e30'
# Cameras that look away from the box: every ray misses it.
cam away '"camera_angle_x": 0.69' '[[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 4], [0, 0, 0, 1]]'
# One 16384x16384 grey PNG (about 260 KB: all zeros) listed by 40 frames: 40 GiB decoded at once.
mkdir many_big
python3 - many_big/big.png <<'PY'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
n = 16384
z = zlib.compressobj(9)
row = bytes(n + 1)
data = b''.join(z.compress(row) for _ in range(n)) + z.flush()
ihdr = struct.pack('>IIBBBBB', n, n, 8, 0, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', data) + chunk(b'IEND', b''))
PY
python3 -c "
import sys
m = '$matrix'
print('{\"camera_angle_x\": 0.69, \"frames\": [' + ', '.join('{\"file_path\": \"big.png\", \"transform_matrix\": %s}' % m for _ in range(40)) + ']}')
" >many_big/transforms.json
