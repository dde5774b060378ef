# Not yet run: this project's development machines have no NixOS VM host (its nodes are evaluated
# against stand-in NixOS options by tests/nix/check-nix.sh). In the flake's checks (vm-viewer) and
# the package's passthru.tests when it is built with the viewer, as the headless one (./headless.nix).
#
# NixOS VM test, graphical: X with Mesa's software GL (llvmpipe; a VM has no GPU), the viewer
# started on a snapshot trained in the VM, then a screenshot that must not be blank. OCR looks for
# the window's overlay text when the viewer draws one.
#
# `instant-ngp` must be a build with the viewer: the package passes itself (finalAttrs.finalPackage,
# which has no `override`) and offers this test only when withViewer is true.
{
  pkgs,
  instant-ngp,
}:

pkgs.testers.runNixOSTest {
  name = "instant-ngp-viewer";
  enableOCR = true;

  nodes.machine = {
    # An X session (auto-login as root, IceWM) from nixpkgs' own test helpers, reached by path:
    # nixpkgs does not export it as a module.
    imports = [
      # A path, not "${pkgs.path}/...": interpolating would copy all of nixpkgs to the store again.
      (pkgs.path + "/nixos/tests/common/x11.nix")
      ../../modules/instant-ngp.nix
    ];
    programs.instant-ngp = {
      enable = true;
      package = instant-ngp;
    };
    environment.systemPackages = [
      pkgs.imagemagick
      pkgs.xdotool
    ];
    virtualisation = {
      memorySize = 2048;
      cores = 2;
      resolution = {
        x = 1024;
        y = 768;
      };
    };
  };

  testScript = ''
    machine.wait_for_x()

    with subtest("train a small model and save a snapshot"):
        machine.succeed("ngp-synth --out /tmp/scene --size 64 --train 24 --test 4 --seed 3 --quiet")
        machine.succeed(
            "instant-ngp --scene /tmp/scene --backend cpu --config small.json --n-steps 200"
            " --batch-size 8192 --no-gui"
            " --save-snapshot /tmp/model.ngp"
        )

    with subtest("the viewer opens the snapshot in a window"):
        machine.execute("DISPLAY=:0 LIBGL_ALWAYS_SOFTWARE=1 instant-ngp /tmp/model.ngp >/tmp/viewer.log 2>&1 &")
        machine.wait_for_window("instant-ngp")
        machine.sleep(5)
        machine.screenshot("viewer")

    with subtest("the window (not the desktop around it) shows an image"):
        window = machine.succeed("DISPLAY=:0 xdotool search --onlyvisible --name '^instant-ngp' | head -n 1").strip()
        assert window, "no visible window named instant-ngp"
        machine.succeed(f"DISPLAY=:0 import -window {window} /tmp/window.png")
        machine.copy_from_vm("/tmp/window.png")
        stats = machine.succeed(
            "magick /tmp/window.png -colorspace Gray -format '%[fx:standard_deviation] %[fx:mean]' info:"
        ).split()
        spread, mean = float(stats[0]), float(stats[1])
        print(f"window: grey standard deviation {spread:.4f}, mean {mean:.4f}")
        assert spread > 0.02, f"the window is nearly uniform (standard deviation {spread:.4f})"
        assert 0.02 < mean < 0.99, f"the window is nearly all black or all white (mean {mean:.4f})"

    with subtest("the overlay is readable"):
        machine.wait_for_text("(?i)instant-ngp|step|loss")
  '';
}
