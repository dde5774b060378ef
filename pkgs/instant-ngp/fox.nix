# NVIDIA's fox capture (instant-ngp's data/nerf/fox: 50 photos and transforms.json), fetched from
# NVlabs/instant-ngp at a pinned commit, with that repository's LICENSE.txt put beside it.
#
# Its own fixed-output derivation on purpose: this is the only unfree thing in some-pkgs (NVIDIA's
# non-commercial licence), and keeping it out of the instant-ngp derivation keeps that package
# free (see the header of ./package.nix). Anything that contains it must say so: ./data.nix does.
{
  lib,
  fetchFromGitHub,
}:

fetchFromGitHub {
  # Also the name that allowUnfreePredicate sees (lib.getName): "instant-ngp-fox".
  name = "instant-ngp-fox";
  owner = "NVlabs";
  repo = "instant-ngp";
  rev = "abe236ee00cf90cfca6e36e65c00435d5b21f50a";
  # Only that folder. In git's cone mode the files at the repository root come too: LICENSE.txt
  # is kept (it must travel with the data), the rest is dropped.
  sparseCheckout = [ "data/nerf/fox" ];
  postFetch = ''
    keep=$(mktemp -d)
    mv "$out/data/nerf/fox" "$keep/fox"
    mv "$out/LICENSE.txt" "$keep/fox/LICENSE.txt"
    rm -rf "$out"
    mv "$keep/fox" "$out"
  '';
  # Checked: recomputed with Nix 2.26 (`nix hash path`) over NVlabs/instant-ngp at this commit,
  # data/nerf/fox plus the root LICENSE.txt laid out as postFetch lays them out; that layout is
  # byte-identical to the project's shared copy of the fox, against which the `nix_fox-hash` test
  # recomputes it. 50 photos and transforms.json (42,644 bytes, 67 frames: 17 name a photo the
  # repository lacks, NVlabs/instant-ngp issue 1592; the engine skips those).
  hash = "sha256-DGKFVsEJ50iWTuYOKWAbusclf3+QPiBlRT/37cJ5nF0=";

  meta = {
    description = "Fox scene of NVIDIA's instant-ngp (50 photos with camera poses), NeRF training data";
    homepage = "https://github.com/NVlabs/instant-ngp/tree/master/data/nerf/fox";
    # NVIDIA Source Code License for instant-ngp: non-commercial use, redistribution allowed with
    # the licence (LICENSE.txt in this output).
    license = lib.licenses.unfreeRedistributable;
    platforms = lib.platforms.all;
  };
}
