# NixOS VM test, headless: a machine with programs.instant-ngp enabled (no GPU, as in every VM)
# has /run/opengl-driver/lib and the programs; ngp-synth generates a small scene and instant-ngp
# trains on it on the CPU, holding out its test views, and must print a PSNR above a floor.
# Run: nix build .#checks.x86_64-linux.vm-headless (needs the kvm and nixos-test system features).
{
  testers,
  instant-ngp,
}:

testers.runNixOSTest {
  name = "instant-ngp-headless";

  nodes.machine = {
    imports = [ ../../modules/instant-ngp.nix ];
    programs.instant-ngp = {
      enable = true;
      package = instant-ngp;
    };
    virtualisation = {
      memorySize = 2048;
      cores = 2;
    };
  };

  # The floor only catches a broken package: this run reaches about 23 dB (measured with the CPU
  # engine on two cores, about 40 s); the engine's own end-to-end test pins the exact trajectory.
  testScript = ''
    import re

    PSNR_FLOOR = 18.0

    machine.wait_for_unit("multi-user.target")

    with subtest("the module enables hardware.graphics, so /run/opengl-driver/lib exists"):
        machine.succeed("test -d /run/opengl-driver/lib")

    with subtest("the programs are installed"):
        machine.succeed("instant-ngp --version")
        machine.succeed("ngp-synth --version")

    with subtest("ngp-synth generates a scene"):
        machine.succeed("ngp-synth --out /tmp/scene --size 64 --train 24 --test 4 --seed 3 --quiet")

    with subtest("CPU training on it reaches the PSNR floor on the held-out views"):
        status, out = machine.execute(
            "instant-ngp --scene /tmp/scene --test-transforms /tmp/scene/transforms_test.json"
            " --backend cpu --config small.json --n-steps 200 --batch-size 8192 --no-gui 2>&1"
        )
        print(out)
        assert status == 0, f"instant-ngp exited with status {status}"
        found = re.findall(r"PSNR=([0-9]+(?:\.[0-9]+)?)", out)
        assert found, "instant-ngp printed no PSNR"
        psnr = float(found[-1])
        assert psnr >= PSNR_FLOOR, f"PSNR {psnr:.2f} dB is below the floor of {PSNR_FLOOR} dB"

    with subtest("the doctor sees the driver folder, finds no GPU, and passes on the CPU"):
        out = machine.succeed("instant-ngp doctor")
        print(out)
        assert "== /run/opengl-driver/lib\nabsent" not in out, "the doctor does not see /run/opengl-driver/lib"
        assert re.search(r"CPU backend: +works", out), "the doctor's CPU checks failed"
        assert re.search(r"selected --backend auto: runs on the CPU", out), "auto did not fall back to the CPU"
        machine.fail("instant-ngp doctor --backend cuda")
  '';
}
